package query

import (
	"context"
	"iter"
	"sort"
	"strings"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// siltTable's History capability: a thin mapping onto table's history API.

func refOf(spec ScanSpec) table.Ref {
	return table.Ref{SnapshotID: spec.SnapshotID, Tag: spec.Tag, AsOfMillis: spec.AsOfMillis}
}

// Branch implements History.
func (s *siltTable) Branch(ctx context.Context, name string) (Table, error) {
	bt, err := s.t.Branch(ctx, name)
	if err != nil {
		return nil, err
	}
	return &siltTable{t: bt, c: s.c, db: s.db, name: s.name}, nil
}

// Resolve implements History.
func (s *siltTable) Resolve(ctx context.Context, spec ScanSpec) (*manifest.Snapshot, error) {
	return s.t.ResolveRef(ctx, refOf(spec))
}

// Tags implements History.
func (s *siltTable) Tags(ctx context.Context) ([]*manifest.Tag, error) { return s.t.Tags(ctx) }

// CreateTag implements History.
func (s *siltTable) CreateTag(ctx context.Context, name string, from ScanSpec) (*manifest.Tag, error) {
	return s.t.CreateTag(ctx, name, refOf(from))
}

// DeleteTag implements History.
func (s *siltTable) DeleteTag(ctx context.Context, name string) error {
	return s.t.DeleteTag(ctx, name)
}

// Rollback implements History.
func (s *siltTable) Rollback(ctx context.Context, to ScanSpec) (*manifest.Snapshot, error) {
	return s.t.Rollback(ctx, refOf(to))
}

// Branches implements History.
func (s *siltTable) Branches(ctx context.Context) ([]*manifest.BranchInfo, error) {
	return s.t.Branches(ctx)
}

// CreateBranch implements History.
func (s *siltTable) CreateBranch(ctx context.Context, name string, from ScanSpec) error {
	_, err := s.t.CreateBranch(ctx, name, refOf(from))
	return err
}

// DropBranch implements History.
func (s *siltTable) DropBranch(ctx context.Context, name string) error {
	return s.t.DropBranch(ctx, name)
}

// FastForward implements History.
func (s *siltTable) FastForward(ctx context.Context, branch string) (*manifest.Snapshot, error) {
	return s.t.FastForward(ctx, branch)
}

// Changes implements History.
func (s *siltTable) Changes(ctx context.Context, from, to *manifest.Snapshot) iter.Seq2[RowChange, error] {
	return func(yield func(RowChange, error) bool) {
		for c, err := range s.t.Changes(ctx, from, to) {
			if !yield(RowChange{SnapshotID: c.SnapshotID, Kind: c.Kind, Row: c.Row}, err) || err != nil {
				return
			}
		}
	}
}

// Manifests implements History.
func (s *siltTable) Manifests(ctx context.Context, snap *manifest.Snapshot) ([]manifest.ManifestMeta, error) {
	return s.t.Meta().ReadManifestList(ctx, snap.ManifestList)
}

// Options implements History: every documented option with its effective
// value, then set options matching a documented pattern
// (fields.<col>.aggregate-function), by key.
func (s *siltTable) Options() []OptionInfo {
	set := s.t.Schema().Options
	var out []OptionInfo
	// A pattern key is prefix<name>suffix.
	type pattern struct {
		prefix, suffix string
		doc            table.OptionDoc
	}
	var patterns []pattern
	for _, d := range table.OptionDocs() {
		if pre, rest, ok := strings.Cut(d.Key, "<"); ok {
			if _, suf, ok := strings.Cut(rest, ">"); ok {
				patterns = append(patterns, pattern{pre, suf, d})
			}
			continue
		}
		v, ok := set[d.Key]
		if !ok {
			v = d.Default
		}
		// A URI stored before credentials were rejected shows redacted.
		out = append(out, OptionInfo{Key: d.Key, Value: objstore.RedactURI(v), Default: d.Default, Description: d.Description, Set: ok})
	}
	known := map[string]bool{}
	for _, o := range out {
		known[o.Key] = true
	}
	var extra []OptionInfo
	for k, v := range set {
		if known[k] {
			continue
		}
		o := OptionInfo{Key: k, Value: v, Set: true}
		for _, p := range patterns {
			if len(k) > len(p.prefix)+len(p.suffix) && strings.HasPrefix(k, p.prefix) && strings.HasSuffix(k, p.suffix) {
				o.Default, o.Description = p.doc.Default, p.doc.Description
				break
			}
		}
		extra = append(extra, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	sort.Slice(extra, func(i, j int) bool { return extra[i].Key < extra[j].Key })
	return append(out, extra...)
}
