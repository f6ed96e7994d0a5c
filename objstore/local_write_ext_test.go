package objstore_test

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/objstore/objstoretest"
)

// TestConformanceLocalWritePaths runs the conformance suite on each way a
// local store can stage and place a write, including the fallbacks for
// filesystems without O_TMPFILE.
func TestConformanceLocalWritePaths(t *testing.T) {
	t.Parallel()
	for _, path := range objstore.LocalWritePaths {
		t.Run(path, func(t *testing.T) {
			objstoretest.Run(t, func(t *testing.T) objstore.Store {
				l, err := objstore.NewLocalWritePath(t.TempDir(), path)
				if err != nil {
					t.Fatal(err)
				}
				return l
			})
		})
	}
}

// TestLocalWritePathsInterleave: stores writing by different paths (as
// processes of different versions or on different kernels would) share a
// directory; each increments counters with Get and PutIfMatch, creating
// them with PutIfAbsent, and tries PutIfAbsent on counters it saw exist.
// Creating takes no lock while PutIfMatch does, so a lost or doubled
// increment, or a PutIfAbsent replacing a counter, shows as a count that
// differs from the acknowledged increments.
func TestLocalWritePathsInterleave(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	const workers, ops = 4, 30
	keys := []string{"c/a", "c/b", "d/c"}
	var mu sync.Mutex
	incs := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		path := objstore.LocalWritePaths[rng.IntN(len(objstore.LocalWritePaths))]
		l, err := objstore.NewLocalWritePath(dir, path)
		if err != nil {
			t.Fatal(err)
		}
		wrng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			ctx := t.Context()
			for range ops {
				key := keys[wrng.IntN(len(keys))]
				b, info, err := l.Get(ctx, key)
				switch {
				case errors.Is(err, objstore.ErrNotFound):
					_, err = l.PutIfAbsent(ctx, key, []byte("1"))
				case err != nil:
				case wrng.IntN(4) == 0:
					if _, err := l.PutIfAbsent(ctx, key, []byte("spoiled")); !errors.Is(err, objstore.ErrPreconditionFailed) {
						t.Errorf("worker %d (%s): PutIfAbsent of %s, which exists: %v, want ErrPreconditionFailed", w, path, key, err)
					}
					continue
				default:
					n, _ := strconv.Atoi(string(b))
					_, err = l.PutIfMatch(ctx, key, []byte(strconv.Itoa(n+1)), info.ETag)
				}
				switch {
				case err == nil:
					mu.Lock()
					incs[key]++
					mu.Unlock()
				case !errors.Is(err, objstore.ErrPreconditionFailed):
					t.Errorf("worker %d (%s) on %s: %v", w, path, key, err)
				}
			}
		})
	}
	wg.Wait()
	l := newLocal(t, dir)
	for _, key := range keys {
		want := "<absent>"
		if incs[key] > 0 {
			want = strconv.Itoa(incs[key])
		}
		got := "<absent>"
		if b, _, err := l.Get(t.Context(), key); err == nil {
			got = string(b)
		}
		if got != want {
			t.Errorf("%s = %s, want %s acknowledged increments", key, got, want)
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".silt-tmp-") {
			t.Errorf("temp file left: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
