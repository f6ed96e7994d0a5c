package manifest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
)

// pairStore records the most conditional puts of manifests and manifest
// lists in flight at once; each waits (up to a few seconds) for a second
// one, so puts one after another show as a peak of 1.
type pairStore struct {
	objstore.Store
	mu        sync.Mutex
	cur, peak int
	second    chan struct{}
	once      sync.Once
}

func (s *pairStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	if !strings.Contains(key, "/manifest/") {
		return s.Store.PutIfAbsent(ctx, key, data)
	}
	s.mu.Lock()
	s.cur++
	s.peak = max(s.peak, s.cur)
	if s.cur >= 2 {
		s.once.Do(func() { close(s.second) })
	}
	s.mu.Unlock()
	select {
	case <-s.second:
	case <-time.After(3 * time.Second):
	}
	defer func() {
		s.mu.Lock()
		s.cur--
		s.mu.Unlock()
	}()
	return s.Store.PutIfAbsent(ctx, key, data)
}

// TestCommitPutsManifestAndListAtOnce: a commit puts its new manifest and
// the manifest list naming it at once (an object store's PUT latency is
// paid once for the two), and the snapshot reads back whole.
func TestCommitPutsManifestAndListAtOnce(t *testing.T) {
	st := &pairStore{Store: objstore.NewMem(), second: make(chan struct{})}
	tb, _ := newTestTable(t, st)
	s := mustCommit(t, tb, appendCommit("w", "1", file("data/1", 2), file("data/2", 3)))
	if st.peak < 2 {
		t.Errorf("at most %d manifest put in flight, want the manifest and its list at once", st.peak)
	}
	files, err := tb.Files(context.Background(), s)
	if err != nil || len(files) != 2 {
		t.Fatalf("files of the snapshot: %v, %v", paths(files), err)
	}
}
