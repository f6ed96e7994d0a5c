package objstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// localLockStripes is how many lock files serialize writers; keys hash
// onto them.
const localLockStripes = 64

// localLocks serialize the writers of a key that must not interleave
// (replacing Put, PutIfMatch, Delete) across goroutines and processes: a
// key hashes onto one of 64 stripes, each an in-process token plus
// flock(2) on a lock file under <root>/.silt-locks. A stripe's file is
// opened on its first use and kept open (locked and unlocked per
// operation), so an operation costs no open or close; Close releases
// them.
type localLocks struct {
	stripes [localLockStripes]chan struct{} // in-process half of each stripe lock
	files   [localLockStripes]*os.File      // files[i] is guarded by stripes[i]
}

func (ls *localLocks) init() {
	for i := range ls.stripes {
		ls.stripes[i] = make(chan struct{}, 1)
	}
}

// lock serializes writers of key across goroutines and processes. The
// returned func releases it.
func (l *Local) lock(ctx context.Context, key string) (func(), error) {
	h := fnv.New32a()
	h.Write([]byte(key))
	i := h.Sum32() % localLockStripes
	select {
	case l.locks.stripes[i] <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-l.locks.stripes[i] }
	f := l.locks.files[i]
	if f == nil {
		var err error
		if f, err = l.openLockFile(i); err != nil {
			release()
			return nil, fmt.Errorf("local lock: %w", err)
		}
		l.locks.files[i] = f
	}
	// Another process holds the flock only briefly; poll, honouring ctx.
	for wait := time.Millisecond; ; wait = min(2*wait, 20*time.Millisecond) {
		ok, err := tryFlock(f)
		if err != nil {
			release()
			return nil, fmt.Errorf("local lock: %w", err)
		}
		if ok {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, ctx.Err()
		}
	}
	return func() {
		if unflock(f) != nil {
			// Closing the file surely drops the flock; the next lock of
			// this stripe opens it again.
			f.Close()
			l.locks.files[i] = nil
		}
		release()
	}, nil
}

// openLockFile opens stripe i's lock file, creating it (and, for a store
// opened with OpenLocal, the lock directory) on the first write.
func (l *Local) openLockFile(i uint32) (*os.File, error) {
	lockDir := filepath.Join(l.root, localReserved+"locks")
	lockFile := filepath.Join(lockDir, fmt.Sprintf("%02d", i))
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(lockDir, 0o755); err == nil {
			f, err = os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o644)
		}
	}
	return f, err
}

// Close closes the lock files the store keeps open, waiting for the
// writers holding them. The store stays usable: a later write opens them
// again. Without Close they are closed when the Local is garbage.
func (l *Local) Close() error {
	var errs []error
	for i := range l.locks.stripes {
		l.locks.stripes[i] <- struct{}{}
		if f := l.locks.files[i]; f != nil {
			errs = append(errs, f.Close())
			l.locks.files[i] = nil
		}
		<-l.locks.stripes[i]
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("local store %s: closing lock files: %w", l.root, err)
	}
	return nil
}
