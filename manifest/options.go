package manifest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"time"
)

// Options configure a Table. The zero value is usable: EnsureDefaults fills
// every unset field with the default named in its comment.
type Options struct {
	// Now is the committer's clock; snapshot times are
	// max(Now, parent's time). Default: time.Now.
	Now func() time.Time
	// NewID names new manifest and manifest-list objects; it must return
	// globally unique, path-safe strings. Default: 32 random hex digits
	// from crypto/rand.
	NewID func() string
	// MaxManifests is the merge threshold: when a new manifest list would
	// hold more manifests, the committer writes one merged manifest of the
	// live files instead. Default: 16.
	MaxManifests int
	// MaxAttempts bounds the attempts of one Commit call (lost races and
	// retryable I/O errors). Default: 64.
	MaxAttempts int
	// RetryBaseDelay and RetryMaxDelay shape the backoff between attempts:
	// attempt n sleeps a uniformly random duration in
	// [0, min(RetryMaxDelay, RetryBaseDelay<<n)). Defaults: 5ms and 500ms.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// Rand returns a uniformly random int64 in [0, n) for n > 0; it must
	// be safe for concurrent use. Default: math/rand/v2.Int64N.
	Rand func(n int64) int64
	// Sleep waits for d or until ctx is done. Default: a timer honouring
	// ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Cache, when set, keeps decoded manifest lists, manifests and
	// snapshots across calls (see Cache); nil reads every object from the
	// store.
	Cache Cache
	// OrphanGracePeriod is the table's orphan.grace-period: orphan
	// cleanup deletes unreferenced objects older than it. A commit
	// refuses to publish (ErrHeldTooLong) when more than half of it
	// passed, by Now, between Commit.HeldSince (or the start of the
	// attempt) and the snapshot put, because cleanup may already have
	// deleted the files it references. 0 disables the check.
	OrphanGracePeriod time.Duration
	// AfterCommit, when set, is called after every successful Commit of
	// any branch of the table (branch "" is main), with the published
	// snapshot. It runs on the committer's goroutine and cannot fail the
	// commit: it is for post-commit work such as publishing the Iceberg
	// view. nil: nothing.
	AfterCommit func(ctx context.Context, branch string, s *Snapshot)
}

// Default values of Options.
const (
	DefaultMaxManifests   = 16
	DefaultMaxAttempts    = 64
	DefaultRetryBaseDelay = 5 * time.Millisecond
	DefaultRetryMaxDelay  = 500 * time.Millisecond
)

// EnsureDefaults returns o with every unset field set to its default.
func (o Options) EnsureDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = randomID
	}
	if o.MaxManifests <= 0 {
		o.MaxManifests = DefaultMaxManifests
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RetryBaseDelay <= 0 {
		o.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if o.RetryMaxDelay <= 0 {
		o.RetryMaxDelay = DefaultRetryMaxDelay
	}
	if o.Rand == nil {
		o.Rand = mrand.Int64N
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	return o
}

// backoff returns the jittered delay before attempt n (1-based).
func (o *Options) backoff(n int) time.Duration {
	limit := o.RetryMaxDelay
	if n < 30 {
		limit = min(limit, o.RetryBaseDelay<<n)
	}
	if limit <= 0 {
		return 0
	}
	return time.Duration(o.Rand(int64(limit)))
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
