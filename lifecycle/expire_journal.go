package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// Expiry journals live under gc/: gc/expire-<id> lists what one expiry
// run deletes, written before its first deletion and deleted after its
// last, so an interrupted run is resumed (never repeated with a new
// plan that might overlook what the first one already deleted).
const (
	gcDir              = "gc/"
	expireJournalPfx   = "gc/expire-"
	kindExpireJournal  = "expire-journal"
	maxJournalObjects  = 1 << 24
	maxJournalSnapshot = 1 << 24
)

// expireJournal is the body of gc/expire-<id>.
type expireJournal struct {
	Version       int    `json:"version"`
	ID            string `json:"id"`
	CreatedMillis int64  `json:"createdMillis"`
	// Snapshots are the ids of main snapshots to delete, ascending.
	Snapshots []int64 `json:"snapshots"`
	// Objects are the candidate deletions: objects reachable from the
	// expired snapshots and from no reference when the run planned. They
	// are deleted only if still unreferenced after the snapshots are gone
	// and leases were listed.
	Objects []objRef `json:"objects"`
}

func (j *expireJournal) validate() error {
	switch {
	case j.Version < 1 || j.Version > manifest.FormatVersion:
		return fmt.Errorf("unsupported expire journal version %d", j.Version)
	case j.ID == "" || strings.ContainsAny(j.ID, "/\\\x00"):
		return fmt.Errorf("bad expire journal id %q", j.ID)
	case len(j.Snapshots) > maxJournalSnapshot || len(j.Objects) > maxJournalObjects:
		return fmt.Errorf("expire journal %s too large", j.ID)
	}
	for i, id := range j.Snapshots {
		if id < 1 || (i > 0 && id <= j.Snapshots[i-1]) {
			return fmt.Errorf("expire journal %s: snapshot ids not ascending and positive at %d", j.ID, i)
		}
	}
	for _, o := range j.Objects {
		if o.Tier != "" && o.Tier != table.TierCold {
			return fmt.Errorf("expire journal %s: unknown tier %q", j.ID, o.Tier)
		}
		if err := validGCPath(o.Path); err != nil {
			return fmt.Errorf("expire journal %s: %v", j.ID, err)
		}
		if o.Size < 0 {
			return fmt.Errorf("expire journal %s: negative size of %s", j.ID, o.Path)
		}
	}
	return nil
}

// validGCPath accepts the relative paths a collector may delete: data
// files, changelog files, manifests and manifest lists. Never a snapshot,
// tag, branch, lease, schema or journal object.
func validGCPath(p string) error {
	if p == "" || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("bad path %q", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("path %q: empty, '.' or '..' element", p)
		}
	}
	for _, dir := range gcDataDirs {
		if strings.HasPrefix(p, dir) {
			return nil
		}
	}
	return fmt.Errorf("path %q is not under %s", p, strings.Join(gcDataDirs, ", "))
}

// gcDataDirs are the folders (relative to the table root) whose objects
// garbage collection owns.
var gcDataDirs = []string{"data/", manifest.ManifestDir, "changelog/"}

func encodeExpireJournal(j *expireJournal) ([]byte, error) {
	if err := j.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", types.ErrInvalid, err)
	}
	return manifest.EncodeObject(kindExpireJournal, j)
}

func decodeExpireJournal(data []byte) (*expireJournal, error) {
	var j expireJournal
	if err := manifest.DecodeObject(kindExpireJournal, data, &j); err != nil {
		return nil, err
	}
	if err := j.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", types.ErrCorruption, err)
	}
	return &j, nil
}

// writeJournal puts a new journal (put-if-absent: ids are unique).
func (t *tableGC) writeJournal(ctx context.Context, j *expireJournal) error {
	data, err := encodeExpireJournal(j)
	if err != nil {
		return err
	}
	if _, err := t.store.PutIfAbsent(ctx, t.root+expireJournalPfx+j.ID, data); err != nil {
		return fmt.Errorf("table %s: write expire journal %s: %w", t.name, j.ID, err)
	}
	return nil
}

// journals reads every pending expiry journal, oldest first.
func (t *tableGC) journals(ctx context.Context) ([]*expireJournal, error) {
	infos, err := t.store.List(ctx, t.root+expireJournalPfx)
	if err != nil {
		return nil, fmt.Errorf("table %s: list expire journals: %w", t.name, err)
	}
	var out []*expireJournal
	for _, in := range infos {
		data, _, err := t.store.Get(ctx, in.Key)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // finished by another collector
		}
		if err != nil {
			return nil, fmt.Errorf("table %s: read expire journal %s: %w", t.name, in.Key, err)
		}
		j, err := decodeExpireJournal(data)
		if err != nil {
			return nil, fmt.Errorf("table %s: expire journal %s: %w", t.name, in.Key, err)
		}
		out = append(out, j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].CreatedMillis < out[b].CreatedMillis })
	return out, nil
}
