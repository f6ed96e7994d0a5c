package cache

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
)

// TestSweepTempPassesThrough: the cache in front of Retry(Local), as
// cmd/silt stacks them, lets orphan cleanup reach the local store's
// stray temp files.
func TestSweepTempPassesThrough(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, t.TempDir(), 1<<20, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := c.Wrap(objstore.NewRetry(l, objstore.RetryOptions{}), "hot")
	p := filepath.Join(dir, "t", "data", ".silt-tmp-1")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	n, err := objstore.SweepTemp(ctx, st, "t/", time.Now().Add(-time.Minute), false)
	if err != nil || n != 1 {
		t.Fatalf("sweep through the cache: %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("temp file still there: %v", err)
	}
}
