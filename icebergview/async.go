package icebergview

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/siltdb/silt/table"
)

// asyncTimeout bounds one background publication.
const asyncTimeout = 5 * time.Minute

// background is the state of Async publication: per table, whether a
// publication runs and whether another change came in meanwhile.
type background struct {
	mu     sync.Mutex
	tables map[string]*tableQueue
	wg     sync.WaitGroup
}

type tableQueue struct {
	t       *table.Table
	running bool
	dirty   bool
}

// schedule publishes t in the background: at most one publication per
// table runs at a time, and changes made while it runs are published
// together by one more publication after it (it catches up with every
// snapshot committed meanwhile).
func (p *Publisher) schedule(ctx context.Context, t *table.Table) {
	bg := &p.bg
	key := fmt.Sprintf("%p|%s", t.Store(), t.Root())
	bg.mu.Lock()
	if bg.tables == nil {
		bg.tables = map[string]*tableQueue{}
	}
	q := bg.tables[key]
	if q == nil {
		q = &tableQueue{}
		bg.tables[key] = q
	}
	q.t = t
	if q.running {
		q.dirty = true
		bg.mu.Unlock()
		return
	}
	q.running = true
	bg.wg.Add(1)
	bg.mu.Unlock()
	// The commit's context may end when the commit returns; the
	// publication keeps its values but not its cancellation.
	base := context.WithoutCancel(ctx)
	go func() {
		defer bg.wg.Done()
		for {
			bg.mu.Lock()
			t := q.t
			q.dirty = false
			bg.mu.Unlock()
			pctx, cancel := context.WithTimeout(base, asyncTimeout)
			_, err := p.Publish(pctx, t)
			cancel()
			if err != nil && p.OnError != nil {
				p.OnError(t.Name(), err)
			}
			bg.mu.Lock()
			if !q.dirty {
				q.running = false
				delete(bg.tables, key)
				bg.mu.Unlock()
				return
			}
			bg.mu.Unlock()
		}
	}()
}

// Wait blocks until the background publications (Async) have finished,
// or ctx ends. A process calls it before exiting so that its last
// commits are published.
func (p *Publisher) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		p.bg.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for Iceberg view publications: %w", ctx.Err())
	}
}
