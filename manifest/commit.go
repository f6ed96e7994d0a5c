package manifest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Commit is one change to publish as a new snapshot.
type Commit struct {
	// User and Identifier name the commit: a retried Commit with the same
	// pair is recognised (see Table.FindCommit) and never applied twice.
	// One user commits sequentially.
	User, Identifier string
	Kind             CommitKind
	SchemaID         int64
	// Added are the new data files. For APPEND and OVERWRITE commits their
	// MinSeq/MaxSeq are commit-local (0 <= MinSeq <= MaxSeq < SeqCount,
	// SeqBase 0): the committer sets SeqBase = parent.NextSequence and
	// shifts MinSeq/MaxSeq by it. For COMPACT commits they are rewrites of
	// already-sequenced rows: their sequence numbers and SeqBase are kept
	// as given and must lie below parent.NextSequence, and SeqCount is 0.
	Added []DataFile
	// Deleted must all be live in the parent, else the commit aborts with
	// ErrConflict (e.g. a compaction input already removed by another
	// compaction). Only Path is used, and for COMPACT commits Level too: a
	// file the parent holds at another level (moved by a concurrent
	// compaction's upgrade) also conflicts. The DELETE entry records the
	// parent's copy of the file.
	Deleted []DataFile
	// Upgrades move live files to another level without rewriting them
	// (COMPACT commits only). Each file must be live in the parent at
	// FromLevel, else ErrConflict. The delta manifest records an upgrade as
	// a DELETE of the parent's entry followed by an ADD of the same file at
	// the new level, so strict replay (and every reader of format version
	// 1) applies it unchanged; see docs/adr/0007.
	Upgrades []Upgrade
	// Retiers move live files to another tier without changing their
	// content (COMPACT commits only). Each file must be live in the parent
	// with FromTier, else ErrConflict.
	Retiers []Retier
	// Changelog are changelog files of an APPEND commit: rows with row
	// kinds describing what the commit changed. Their sequence numbers are
	// commit-local like Added's and shifted the same way. They are listed
	// by the snapshot's ChangelogManifestList and are never live data.
	Changelog []DataFile
	// Source, for a REPLACE commit, is the snapshot whose content the new
	// snapshot publishes: its manifest list (reused by path), schema,
	// record count and properties (overlaid with Properties). The new
	// snapshot's NextSequence is max(parent's, Source's), so later writes
	// still win. Rollback and branch fast-forward are REPLACE commits. The
	// caller must hold a lease on Source (AcquireLease) so garbage
	// collection cannot delete its files before the new snapshot lands.
	Source *Snapshot
	// SeqCount is the number of commit-local sequence numbers used:
	// NextSequence advances by it.
	SeqCount int64
	// Properties are overlaid on the parent's properties (so e.g. stream
	// offsets survive other commits); a value "" deletes the key.
	Properties map[string]string
	// Check, when set, is evaluated against the parent of every attempt
	// (nil for the first snapshot); its error aborts the commit and is
	// returned unchanged (wrapped with objstore.ErrAmbiguous only when an
	// earlier attempt's snapshot put is in doubt).
	Check func(parent *Snapshot) error
	// Fresh promises that no earlier call ever attempted this (User,
	// Identifier), e.g. a session with a newly generated user. The first
	// attempt then skips the walk back through history that recognises a
	// retried commit (O(history) for a user that has not committed
	// recently). Leave it false whenever a crashed process may have
	// attempted the identifier.
	Fresh bool
	// HeldSince is the time, by Options.Now, taken just before the
	// committer uploaded the first object this commit adds that no
	// published snapshot references (data and changelog files, tier
	// copies). Zero means the commit uploaded nothing before Commit was
	// called. See Options.OrphanGracePeriod.
	HeldSince time.Time
}

// ErrHeldTooLong: a commit held its new files (unreferenced, so orphan
// cleanup may delete them) for more than half of the orphan grace period
// before publishing; nothing was published.
var ErrHeldTooLong = errors.New("nothing was published")

func (c *Commit) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: commit %s/%s: %s", types.ErrInvalid, c.User, c.Identifier, fmt.Sprintf(format, args...))
	}
	switch {
	case c.User == "" || c.Identifier == "":
		return bad("empty commit user or identifier")
	case c.Kind != CommitAppend && c.Kind != CommitCompact && c.Kind != CommitOverwrite && c.Kind != CommitReplace:
		return bad("unknown commit kind %q", c.Kind)
	case (c.Kind == CommitReplace) != (c.Source != nil):
		return bad("a REPLACE commit, and only one, has a Source snapshot")
	case c.Kind == CommitReplace && (len(c.Added)+len(c.Deleted)+len(c.Upgrades)+len(c.Retiers)+len(c.Changelog) > 0 || c.SeqCount != 0):
		return bad("a REPLACE commit adds, deletes or moves no files")
	case len(c.Retiers) > 0 && c.Kind != CommitCompact:
		return bad("only a COMPACT commit moves files between tiers")
	case len(c.Changelog) > 0 && c.Kind != CommitAppend:
		return bad("only an APPEND commit has changelog files")
	case c.SchemaID < 0 || c.SeqCount < 0:
		return bad("negative schema id or sequence count")
	case c.Kind == CommitCompact && c.SeqCount != 0:
		return bad("a COMPACT commit uses no new sequence numbers (SeqCount %d)", c.SeqCount)
	}
	added := make(map[string]bool, len(c.Added))
	for _, f := range c.Added {
		if err := validRelPath(f.Path); err != nil {
			return bad("added file: %v", err)
		}
		if added[f.Path] {
			return bad("file %s added twice", f.Path)
		}
		added[f.Path] = true
		if f.RowCount < 0 || f.DeleteCount < 0 || f.Size < 0 {
			return bad("file %s: negative row count or size", f.Path)
		}
		if err := ValidChecksum(f.Checksum); err != nil {
			return bad("file %s: %v", f.Path, err)
		}
		if f.MinSeq < 0 || f.MaxSeq < f.MinSeq {
			return bad("file %s: bad sequence range [%d, %d]", f.Path, f.MinSeq, f.MaxSeq)
		}
		if c.Kind != CommitCompact && (f.SeqBase != 0 || f.MaxSeq >= c.SeqCount) {
			return bad("file %s: sequence range [%d, %d] (base %d) not commit-local within SeqCount %d",
				f.Path, f.MinSeq, f.MaxSeq, f.SeqBase, c.SeqCount)
		}
	}
	deleted := make(map[string]bool, len(c.Deleted))
	for _, f := range c.Deleted {
		if err := validRelPath(f.Path); err != nil {
			return bad("deleted file: %v", err)
		}
		if deleted[f.Path] || added[f.Path] {
			return bad("file %s deleted twice or both added and deleted", f.Path)
		}
		deleted[f.Path] = true
	}
	if len(c.Upgrades) > 0 && c.Kind != CommitCompact {
		return bad("only a COMPACT commit upgrades files")
	}
	upgraded := make(map[string]bool, len(c.Upgrades))
	for _, u := range c.Upgrades {
		if err := validRelPath(u.Path); err != nil {
			return bad("upgraded file: %v", err)
		}
		if upgraded[u.Path] || added[u.Path] || deleted[u.Path] {
			return bad("file %s upgraded twice, or also added or deleted", u.Path)
		}
		upgraded[u.Path] = true
		if u.FromLevel < 0 || u.Level < 0 || u.FromLevel == u.Level {
			return bad("file %s: bad upgrade from level %d to %d", u.Path, u.FromLevel, u.Level)
		}
	}
	for _, r := range c.Retiers {
		if err := validRelPath(r.Path); err != nil {
			return bad("retiered file: %v", err)
		}
		if upgraded[r.Path] || added[r.Path] || deleted[r.Path] {
			return bad("file %s moved twice, or also added or deleted", r.Path)
		}
		upgraded[r.Path] = true
		if r.FromTier == r.Tier {
			return bad("file %s: moved from tier %q to itself", r.Path, r.Tier)
		}
	}
	for _, f := range c.Changelog {
		if err := validRelPath(f.Path); err != nil {
			return bad("changelog file: %v", err)
		}
		if added[f.Path] {
			return bad("file %s is both data and changelog", f.Path)
		}
		added[f.Path] = true
		if f.MinSeq < 0 || f.MaxSeq < f.MinSeq || f.SeqBase != 0 || f.MaxSeq >= c.SeqCount {
			return bad("changelog file %s: sequence range [%d, %d] (base %d) not commit-local within SeqCount %d",
				f.Path, f.MinSeq, f.MaxSeq, f.SeqBase, c.SeqCount)
		}
	}
	if c.Source != nil {
		if err := c.Source.validate(); err != nil {
			return bad("source snapshot: %v", err)
		}
	}
	return nil
}

// outcome classifies a failed attempt.
type outcome int

const (
	fatal     outcome = iota // return the error
	lostRace                 // another committer published the id first
	retryable                // I/O failed; nothing was published
)

// Commit publishes c as snapshot parent+1 with a put-if-absent, retrying
// when another committer wins the id (bounded by MaxAttempts; then an
// error wrapping types.ErrConflict).
//
// Each attempt reads the latest snapshot; returns the already published
// snapshot if (User, Identifier) is found in the history not yet checked
// by this call; runs Check; verifies Deleted and Upgrades are live
// (ErrConflict otherwise, not retried); writes a delta manifest and a manifest list
// (merging all live files into one manifest when the list would exceed
// MaxManifests); and puts the snapshot if absent. A put that fails other
// than by losing the race is resolved by reading the snapshot back: ours
// means success, someone else's or none means another attempt (put-if-
// absent on contiguous ids makes a late-landing earlier put harmless: it
// can only take an id this call has not yet seen filled, and the next
// attempt finds it). If the read-back fails too, the error wraps
// objstore.ErrAmbiguous: the outcome is unknown and the caller must retry
// Commit with the same identifier; so does any later failure of a call
// whose snapshot put was in doubt. Transient store errors
// (objstore.IsRetryable) cost an attempt; permanent ones, ctx errors and
// a retrying store's objstore.ErrGaveUp end the call. Failed attempts
// leave unreferenced manifests behind for orphan cleanup; nothing is ever
// deleted.
func (t *Table) Commit(ctx context.Context, c Commit) (*Snapshot, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	st := &commitState{}
	var (
		lastErr error
		lastOc  outcome
		lost    int
	)
	for attempt := 1; attempt <= t.opts.MaxAttempts; attempt++ {
		if attempt > 1 {
			if err := t.opts.Sleep(ctx, t.opts.backoff(attempt-1)); err != nil {
				return nil, st.final(fmt.Errorf("commit %s/%s: %w (last attempt: %w)", c.User, c.Identifier, err, lastErr))
			}
		}
		s, oc, err := t.attempt(ctx, &c, st)
		if err == nil {
			t.writeHint(ctx, s.ID, st.hint)
			if t.opts.AfterCommit != nil {
				t.opts.AfterCommit(ctx, t.branch, s)
			}
			return s, nil
		}
		if oc == fatal {
			return nil, st.final(err)
		}
		if oc == lostRace {
			lost++
		}
		lastErr, lastOc = err, oc
	}
	if lastOc == lostRace {
		return nil, st.final(fmt.Errorf("%w: commit %s/%s: gave up after %d attempts, %d lost to concurrent committers: %w",
			types.ErrConflict, c.User, c.Identifier, t.opts.MaxAttempts, lost, lastErr))
	}
	return nil, st.final(fmt.Errorf("commit %s/%s: gave up after %d attempts (%d lost to concurrent committers): %w",
		c.User, c.Identifier, t.opts.MaxAttempts, lost, lastErr))
}

// commitState is what one Commit call carries between attempts.
type commitState struct {
	// checked: snapshots with ids <= checked are known not to hold the
	// commit.
	checked int64
	// uncertain: a snapshot put failed without a definite answer, so it
	// may still land after this call returns.
	uncertain bool
	// listed and listedMax: the highest snapshot id listed by the first
	// attempt (see listedAbove).
	listed    bool
	listedMax int64
	// hint: what the latest attempt's read of snapshot/LATEST found.
	hint hintSeen
}

// final wraps a failure of the call with objstore.ErrAmbiguous when an
// earlier snapshot put is uncertain: the caller must then retry with the
// same identifier rather than treat the commit as not applied.
func (st *commitState) final(err error) error {
	if !st.uncertain || errors.Is(err, objstore.ErrAmbiguous) {
		return err
	}
	return fmt.Errorf("%w: an earlier snapshot put of this commit may still apply: %w", objstore.ErrAmbiguous, err)
}

// classifyWrite classifies a failed put-if-absent of a freshly named
// manifest or manifest list: losing it means NewID collided (or a
// retrying store saw someone else's bytes), which costs an attempt with
// new names, never an overwrite.
func classifyWrite(ctx context.Context, err error) outcome {
	if ctx.Err() == nil && errors.Is(err, objstore.ErrPreconditionFailed) {
		return retryable
	}
	return classify(ctx, err)
}

// classify decides whether a failed step is worth another attempt: only
// transient store errors are, and not once a retrying store below has
// given up (that would multiply its stall).
func classify(ctx context.Context, err error) outcome {
	switch {
	case ctx.Err() != nil,
		errors.Is(err, objstore.ErrGaveUp),
		errors.Is(err, types.ErrCorruption),
		errors.Is(err, types.ErrInvalid),
		errors.Is(err, types.ErrNotFound),
		errors.Is(err, types.ErrConflict):
		return fatal
	case objstore.IsRetryable(err):
		return retryable
	}
	return fatal
}

// writeHint best-effort raises snapshot/LATEST to id. Readers never trust
// it to be current, but it only ever grows (a conditional put, so two
// committers finishing out of order cannot lower it): it proves that every
// id up to it was published, which is how a lost newest snapshot is told
// from a table that never had it (see missing.go). The first put is
// conditional on what the commit's attempt read (seen), lower than id
// since id's parent was found from it, so a commit costs no second read
// of the hint; when the hint changed since, that put fails and the hint
// is read again.
func (t *Table) writeHint(ctx context.Context, id int64, seen hintSeen) {
	key := t.skey(LatestHintPath)
	data := []byte(strconv.FormatInt(id, 10))
	var err error
	switch {
	case seen.absent:
		_, err = t.store.PutIfAbsent(ctx, key, data)
	case seen.valid && seen.id < id:
		_, err = t.store.PutIfMatch(ctx, key, data, seen.etag)
	default:
		err = objstore.ErrPreconditionFailed // read it first
	}
	if !errors.Is(err, objstore.ErrPreconditionFailed) {
		return
	}
	for range 3 {
		b, info, err := t.store.Get(ctx, key)
		switch {
		case errors.Is(err, objstore.ErrNotFound):
			_, err = t.store.PutIfAbsent(ctx, key, data)
		case err != nil:
			return
		default:
			if cur, ok := parseID(strings.TrimSpace(string(b))); ok && cur >= id {
				return
			}
			_, err = t.store.PutIfMatch(ctx, key, data, info.ETag)
		}
		if !errors.Is(err, objstore.ErrPreconditionFailed) {
			return
		}
	}
}

// attempt runs one attempt of Commit.
func (t *Table) attempt(ctx context.Context, c *Commit, st *commitState) (*Snapshot, outcome, error) {
	wrap := func(step string, err error) error {
		return fmt.Errorf("commit %s/%s: %s: %w", c.User, c.Identifier, step, err)
	}
	held := t.opts.Now() // before this attempt uploads its manifests
	if !c.HeldSince.IsZero() && c.HeldSince.Before(held) {
		held = c.HeldSince
	}

	if !st.listed {
		var err error
		if st.listedMax, err = t.highestListed(ctx); err != nil {
			return nil, classify(ctx, err), wrap("list snapshots", err)
		}
		st.listed = true
	}
	parent, pub, hint, err := t.newestPresent(ctx)
	if err != nil {
		return nil, classify(ctx, err), wrap("read latest snapshot", err)
	}
	st.hint = hint
	var parentID int64
	if parent != nil {
		parentID = parent.ID
	}
	pub = listedAbove(st.listedMax, parentID, pub)
	if err := t.missing(parent, pub); err != nil {
		// A parent expired meanwhile (a lagging hint far behind a
		// concurrent expiry) is no proof of a loss: look again.
		if parent != nil {
			ok, serr := t.exists(ctx, parent.ID)
			if serr != nil {
				return nil, classify(ctx, serr), wrap("read latest snapshot", serr)
			}
			if !ok {
				return nil, retryable, wrap("read latest snapshot", fmt.Errorf("snapshot %d expired while it was read: %w", parent.ID, err))
			}
		}
		// Only an explicit REPLACE (rollback) may move on from a lost
		// snapshot; it takes an id above every published one.
		if c.Source == nil {
			return nil, fatal, wrap("read latest snapshot", err)
		}
	}
	if c.Fresh && parent != nil && st.checked == 0 && !st.uncertain {
		st.checked = parent.ID
	}
	done, err := t.findCommitFrom(ctx, parent, st.checked, c.User, c.Identifier)
	if err != nil {
		return nil, classify(ctx, err), wrap("look for an earlier attempt", err)
	}
	if done != nil {
		return done, 0, nil
	}
	if parent != nil {
		st.checked = parent.ID
	}
	if c.Check != nil {
		if err := c.Check(parent); err != nil {
			return nil, fatal, err
		}
	}

	p, err := t.plan(ctx, c, parent, max(parentID, pub.id)+1)
	if err != nil {
		return nil, classify(ctx, err), err
	}
	s := p.snapshot
	if c.Source != nil {
		return t.publishSnapshot(ctx, c, st, s, held)
	}
	if len(p.changelog) > 0 {
		m, err := t.writeManifest(ctx, p.changelog, c.SchemaID)
		if err != nil {
			return nil, classifyWrite(ctx, err), wrap("write changelog manifest", err)
		}
		cl, err := t.writeManifestList(ctx, []ManifestMeta{m})
		if err != nil {
			return nil, classifyWrite(ctx, err), wrap("write changelog manifest list", err)
		}
		s.ChangelogManifestList = cl
	}
	var metas []ManifestMeta
	switch n := len(p.parentManifests); {
	case n+min(len(p.delta), 1) > t.opts.MaxManifests:
		if metas, err = t.mergeManifests(ctx, p, c.SchemaID); err != nil {
			return nil, classifyWrite(ctx, err), wrap("write merged manifest", err)
		}
	case len(p.delta) > 0:
		// The new manifest and the list naming it are put at once: the
		// list needs only the manifest's meta, and no snapshot names
		// either until both are stored (an object store's PUT latency is
		// paid once for the two).
		m, mb, err := t.encodeManifest(p.delta, c.SchemaID)
		if err != nil {
			return nil, fatal, wrap("encode manifest", err)
		}
		metas = append(p.parentManifests[:n:n], m)
		listPath, lb, err := t.encodeManifestList(metas)
		if err != nil {
			return nil, fatal, wrap("encode manifest list", err)
		}
		merr, lerr := t.putBoth(ctx, t.key(m.Path), mb, t.key(listPath), lb)
		if merr != nil {
			return nil, classifyWrite(ctx, merr), wrap("write manifest", merr)
		}
		if lerr != nil {
			return nil, classifyWrite(ctx, lerr), wrap("write manifest list", lerr)
		}
		s.ManifestList = listPath
		return t.publishSnapshot(ctx, c, st, s, held)
	default:
		metas = p.parentManifests
	}
	listPath, err := t.writeManifestList(ctx, metas)
	if err != nil {
		return nil, classifyWrite(ctx, err), wrap("write manifest list", err)
	}
	s.ManifestList = listPath
	return t.publishSnapshot(ctx, c, st, s, held)
}

// putBoth puts two new objects (PutIfAbsent) at once and returns their
// errors. It returns, or panics, only after both puts have returned; a
// panic in the second put's goroutine (a test's simulated crash) is
// raised again on the caller's goroutine.
func (t *Table) putBoth(ctx context.Context, k1 string, b1 []byte, k2 string, b2 []byte) (err1, err2 error) {
	var crashed any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { crashed = recover() }()
		_, err2 = t.store.PutIfAbsent(ctx, k2, b2)
	}()
	func() {
		defer func() { <-done }()
		_, err1 = t.store.PutIfAbsent(ctx, k1, b1)
	}()
	if crashed != nil {
		panic(crashed)
	}
	return err1, err2
}

// writeManifestList writes a manifest list under a fresh name.
func (t *Table) writeManifestList(ctx context.Context, metas []ManifestMeta) (string, error) {
	listPath, lb, err := t.encodeManifestList(metas)
	if err != nil {
		return "", err
	}
	if _, err := t.store.PutIfAbsent(ctx, t.key(listPath), lb); err != nil {
		return "", err
	}
	return listPath, nil
}

// encodeManifestList encodes a manifest list under a fresh name.
func (t *Table) encodeManifestList(metas []ManifestMeta) (string, []byte, error) {
	lb, err := EncodeManifestList(&ManifestList{Manifests: metas})
	if err != nil {
		return "", nil, err
	}
	return manifestListPrefix + t.opts.NewID(), lb, nil
}

// publishSnapshot puts s if absent and resolves an unclear outcome.
func (t *Table) publishSnapshot(ctx context.Context, c *Commit, st *commitState, s *Snapshot, held time.Time) (*Snapshot, outcome, error) {
	wrap := func(step string, err error) error {
		return fmt.Errorf("commit %s/%s: %s: %w", c.User, c.Identifier, step, err)
	}
	sb, err := EncodeSnapshot(s)
	if err != nil {
		return nil, fatal, wrap("encode snapshot", err)
	}
	if err := t.checkHeld(c, held); err != nil {
		return nil, fatal, err
	}
	_, err = t.store.PutIfAbsent(ctx, t.skey(SnapshotPath(s.ID)), sb)
	if err == nil {
		return s, 0, nil
	}
	if errors.Is(err, objstore.ErrPreconditionFailed) {
		return nil, lostRace, wrap(fmt.Sprintf("snapshot %d taken", s.ID), err)
	}
	st.uncertain = true
	return t.resolve(ctx, c, s.ID, wrap(fmt.Sprintf("put snapshot %d", s.ID), err))
}

// checkHeld refuses to publish a snapshot whose new files were uploaded
// more than half of the orphan grace period ago: orphan cleanup lists the
// store before it reads the references, so it can delete an unreferenced
// file only when the file was older than the grace period at the listing,
// and a snapshot published after the references were read then holds
// files for longer than the grace period minus the clock skew between
// cleaner and store. Refusing at half the grace period leaves the other
// half for skew and for this put's own latency (docs/adr/0017).
func (t *Table) checkHeld(c *Commit, held time.Time) error {
	g := t.opts.OrphanGracePeriod
	if g <= 0 {
		return nil
	}
	if d := t.opts.Now().Sub(held); d > g/2 {
		return fmt.Errorf("commit %s/%s held its files for %s, more than half of orphan.grace-period %s; commit more often or raise orphan.grace-period (%w)",
			c.User, c.Identifier, d.Round(time.Millisecond), g, ErrHeldTooLong)
	}
	return nil
}

// resolve decides the outcome of a snapshot put that failed with putErr by
// reading snapshot id back.
func (t *Table) resolve(ctx context.Context, c *Commit, id int64, putErr error) (*Snapshot, outcome, error) {
	if ctx.Err() != nil {
		return nil, fatal, fmt.Errorf("%w: %w", objstore.ErrAmbiguous, putErr)
	}
	got, err := t.Snapshot(ctx, id)
	switch {
	case err == nil && got.CommitUser == c.User && got.CommitIdentifier == c.Identifier:
		return got, 0, nil
	case err == nil:
		return nil, lostRace, putErr
	case errors.Is(err, types.ErrNotFound):
		return nil, classify(ctx, putErr), putErr
	}
	return nil, fatal, fmt.Errorf("%w: %w; reading snapshot %d back failed too: %w", objstore.ErrAmbiguous, putErr, id, err)
}
