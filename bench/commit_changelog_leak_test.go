package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/siltdb/silt/objstore"
)

// failChangelogStore fails every write under the table root failRoot
// once armed (by a progress line containing armOn) and the table root
// countRoot has published two snapshots since: the writer of
// commit_changelog_1 (the variant without a process lookup index) then
// holds a private index.
type failChangelogStore struct {
	objstore.Store
	armOn, countRoot, failRoot string

	mu        sync.Mutex
	armed     bool
	snapshots int
}

var errInjected = errors.New("injected write failure")

func (s *failChangelogStore) check(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.armed:
	case strings.Contains(key, s.countRoot+"/snapshot/snapshot-"):
		s.snapshots++
	case strings.Contains(key, s.failRoot+"/") && s.snapshots >= 2:
		return errInjected
	}
	return nil
}

func (s *failChangelogStore) Put(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	if err := s.check(key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	return s.Store.Put(ctx, key, data)
}

func (s *failChangelogStore) PutIfAbsent(ctx context.Context, key string, data []byte) (objstore.ObjectInfo, error) {
	if err := s.check(key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	return s.Store.PutIfAbsent(ctx, key, data)
}

func (s *failChangelogStore) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (objstore.ObjectInfo, error) {
	if err := s.check(key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	return s.Store.PutIfMatch(ctx, key, data, etag)
}

// armWriter arms the store when the commit loop begins.
type armWriter struct{ s *failChangelogStore }

func (a armWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(a.s.armOn)) {
		a.s.mu.Lock()
		a.s.armed = true
		a.s.mu.Unlock()
	}
	return len(p), nil
}

// TestCommitChangelogFailureClosesWriters: when a commit of the changelog
// measurement fails (the loading of a table, or the measured commits),
// the writers are closed all the same, so the private lookup index of the
// writer without a process index is deleted, not left in the temporary
// directory with its Pebble database open.
func TestCommitChangelogFailureClosesWriters(t *testing.T) {
	for _, c := range []struct{ name, armOn, failRoot string }{
		{"loading", "(the writer's private index): loading", "commit_changelog_1"},
		{"measured commits", "upserts each into each of", "commit_changelog_2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			store := &failChangelogStore{Store: objstore.NewMem(), armOn: c.armOn, countRoot: "commit_changelog_1", failRoot: c.failRoot}
			cfg := tinyConfig(t, store, "mem", tinyRows["commit"])
			cfg.Progress = armWriter{store}
			_, runErr := Run(context.Background(), "commit", cfg)
			if !errors.Is(runErr, errInjected) {
				t.Fatalf("the run returned %v, want the injected failure", runErr)
			}
			if store.snapshots < 2 {
				t.Fatalf("the failure came after %d snapshots of the private-index table, want 2 or more", store.snapshots)
			}
			es, err := os.ReadDir(tmp)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if strings.HasPrefix(e.Name(), "silt-changelog-lookup-") {
					t.Errorf("%s was left in the temporary directory (run: %v)", e.Name(), runErr)
				}
			}
		})
	}
}
