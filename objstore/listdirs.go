package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"
)

// dirsOf derives ListDirs from full keys: shared by stores that have no
// cheaper way.
func dirsOf(keys []string, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if seg, _, ok := strings.Cut(rest, "/"); ok && seg != "" && !seen[seg] {
			seen[seg] = true
			out = append(out, seg)
		}
	}
	sort.Strings(out)
	return out
}

func (m *Mem) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	keys := make([]string, 0, len(m.objs))
	for k := range m.objs {
		keys = append(keys, k)
	}
	m.mu.Unlock()
	return dirsOf(keys, prefix), nil
}

func (f *Fault) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	r := f.pick(OpList, prefix)
	if err := f.before(ctx, r); err != nil {
		return nil, err
	}
	out, err := f.inner.ListDirs(ctx, prefix)
	if err = f.after(r, err); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *Retry) ListDirs(ctx context.Context, prefix string) (out []string, err error) {
	err = r.run(ctx, OpList, prefix, func(ctx context.Context) (err error) {
		out, err = r.inner.ListDirs(ctx, prefix)
		return err
	})
	return out, err
}

func (p *Prefix) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	return p.inner.ListDirs(ctx, p.prefix+prefix)
}

func (l *Local) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		// Not a folder path: fall back to the general definition.
		objs, err := l.List(ctx, prefix)
		if err != nil {
			return nil, err
		}
		keys := make([]string, len(objs))
		for i, o := range objs {
			keys[i] = o.Key
		}
		return dirsOf(keys, prefix), nil
	}
	dir := strings.TrimSuffix(prefix, "/")
	if dir != "" && ValidateLocalKey(dir) != nil {
		return nil, nil // no valid key starts with prefix
	}
	entries, err := os.ReadDir(filepath.Join(l.root, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil // no folder there (maybe an object of that name)
	}
	if err != nil {
		return nil, fmt.Errorf("list dirs %s: %w", prefix, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), localReserved) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *S3) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rctx, rt := s.startRequest(ctx, 0)
	defer rt.done()
	var out []string
	opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: false}
	for oi := range s.client.ListObjectsIter(rctx, s.cfg.Bucket, opts) {
		if oi.Err != nil {
			return nil, rt.fail(ctx, "list", prefix, oi.Err)
		}
		rt.arm(0) // progress: the budget restarts
		rest, ok := strings.CutPrefix(oi.Key, s.prefix+prefix)
		if !ok {
			continue
		}
		if seg, ok := strings.CutSuffix(rest, "/"); ok && seg != "" && !strings.Contains(seg, "/") {
			out = append(out, seg)
		}
	}
	sort.Strings(out)
	return out, nil
}
