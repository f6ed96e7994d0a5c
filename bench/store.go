package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// runStore measures the object store itself: the ceiling every other
// scenario is a fraction of.
func runStore(ctx context.Context, b *runner, r *Result) error {
	r.Columns = []string{"ops", "ops_per_s", "MB_per_s", "p50_ms", "p99_ms", "lost"}
	system := "minio-go (objstore.S3)"
	if b.cfg.StoreKind != "s3" {
		system = "local dir (objstore.Local)"
		r.note("store is a local directory, not S3: these are filesystem figures; the store scenario needs an s3:// warehouse (SILT_S3_ENDPOINT, AWS_* credentials) to measure an object store")
	}
	sizes := []struct {
		name string
		size int
		ops  int
	}{
		{"4 KiB", 4 << 10, b.rows},
		{"1 MiB", 1 << 20, max(b.rows/10, 8)},
		{"16 MiB", 16 << 20, max(b.rows/50, 8)},
	}
	st := b.cfg.Store
	prefix := b.cfg.Root + "store/"
	for _, sz := range sizes {
		payload := make([]byte, sz.size)
		g := newRowGen(b.cfg.Seed, 1)
		for i := range payload {
			payload[i] = byte(g.rng.Uint32())
		}
		for _, clients := range []int{1, 8} {
			n := sz.ops
			if clients > 1 {
				n = max(n, clients)
			}
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("%sobj-%s-%d-%06d", prefix, sz.name[len(sz.name)-3:], clients, i)
			}
			b.progress("store: PUT %d x %s with %d clients", n, sz.name, clients)
			put := b.parallel(ctx, clients, n, func(ctx context.Context, i int) error {
				_, err := st.Put(ctx, keys[i], payload)
				return err
			})
			if put.err != nil {
				return put.err
			}
			b.progress("store: GET %d x %s with %d clients", n, sz.name, clients)
			get := b.parallel(ctx, clients, n, func(ctx context.Context, i int) error {
				data, _, err := st.Get(ctx, keys[i])
				if err == nil && len(data) != len(payload) {
					err = fmt.Errorf("GET %s: %d bytes, want %d", keys[i], len(data), len(payload))
				}
				return err
			})
			if get.err != nil {
				return get.err
			}
			for _, m := range []struct {
				op  string
				res parallelResult
			}{{"PUT", put}, {"GET", get}} {
				r.add(Measurement{System: system, Case: fmt.Sprintf("%s %s x%d", m.op, sz.name, clients), Values: map[string]float64{
					"ops": float64(n), "ops_per_s": round3(float64(n) / m.res.seconds),
					"MB_per_s": round3(float64(n) * float64(sz.size) / 1e6 / m.res.seconds),
					"p50_ms":   round3(m.res.lat.quantileMs(0.5)), "p99_ms": round3(m.res.lat.quantileMs(0.99)),
				}})
			}
			for _, k := range keys {
				_ = st.Delete(ctx, k)
			}
		}
	}

	// Conditional puts: a commit's snapshot put, one committer per key
	// sequence (a table's commits are serial), 1 and 8 tables at once.
	body := make([]byte, 1024)
	for _, clients := range []int{1, 8} {
		n := max(b.rows/2, clients)
		b.progress("store: %d conditional puts (put-if-absent) with %d clients", n, clients)
		var mu sync.Mutex
		lost := 0
		res := b.parallel(ctx, clients, n, func(ctx context.Context, i int) error {
			_, err := st.PutIfAbsent(ctx, fmt.Sprintf("%scommit-%d/snapshot-%06d", prefix, clients, i), body)
			if err != nil {
				return err
			}
			// A second put of the same key must lose: checks the store
			// honours the condition (not timed separately).
			if i%50 == 0 {
				if _, err := st.PutIfAbsent(ctx, fmt.Sprintf("%scommit-%d/snapshot-%06d", prefix, clients, i), body); err == nil {
					return fmt.Errorf("put-if-absent of an existing object succeeded: the store ignores the condition")
				}
				mu.Lock()
				lost++
				mu.Unlock()
			}
			return nil
		})
		if res.err != nil {
			return res.err
		}
		r.add(Measurement{System: system, Case: fmt.Sprintf("put-if-absent 1 KiB x%d", clients), Values: map[string]float64{
			"ops": float64(n), "ops_per_s": round3(float64(n) / res.seconds),
			"p50_ms": round3(res.lat.quantileMs(0.5)), "p99_ms": round3(res.lat.quantileMs(0.99)), "lost": float64(lost),
		}})
	}
	r.note("every object is written once and read back once; latencies are per request; \"lost\" counts the deliberate second put-if-absent of an existing key (every 50th), which must fail")
	return nil
}

type parallelResult struct {
	seconds float64
	lat     *latencies
	err     error
}

// parallel runs op(0..n-1) on clients goroutines and times each call.
func (b *runner) parallel(ctx context.Context, clients, n int, op func(context.Context, int) error) parallelResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lat := &latencies{}
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	start := b.cfg.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := b.cfg.Now()
				if err := op(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					continue
				}
				lat.add(b.cfg.Now().Sub(t0))
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	secs := max(b.since(start), float64(time.Microsecond)/float64(time.Second))
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return parallelResult{seconds: secs, lat: lat, err: first}
}
