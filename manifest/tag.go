package manifest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TagDir holds one object per tag: tag/tag-<name>. Tags belong to the table,
// not to a branch.
const (
	TagDir    = "tag/"
	tagPrefix = "tag/tag-"
)

// TagPath returns the path of a tag relative to the table root.
func TagPath(name string) string { return tagPrefix + name }

// Tag names one snapshot. It carries a full copy of the snapshot, so the
// tag stays readable after snapshot expiry deletes snapshot/snapshot-<id>;
// expiry keeps every manifest and data file a tag's snapshot references.
type Tag struct {
	Version       int      `json:"version"`
	Name          string   `json:"name"`
	Snapshot      Snapshot `json:"snapshot"`
	CreatedMillis int64    `json:"createdMillis"`
	// Auto marks tags made by the table's automatic tag creation (which
	// only ever deletes auto tags when it enforces its retention count).
	Auto bool `json:"auto,omitempty"`
	// Branch is the branch the snapshot was taken from ("" = main).
	Branch string `json:"branch,omitempty"`
}

// EncodeTag returns the checksummed encoding of t.
func EncodeTag(t *Tag) ([]byte, error) {
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("%w: tag: %v", types.ErrInvalid, err)
	}
	return EncodeObject(KindTag, t)
}

// DecodeTag decodes and validates a tag.
func DecodeTag(data []byte) (*Tag, error) {
	var t Tag
	if err := DecodeObject(KindTag, data, &t); err != nil {
		return nil, err
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("%w: tag: %v", types.ErrCorruption, err)
	}
	return &t, nil
}

func (t *Tag) validate() error {
	if t.Version < 1 || t.Version > FormatVersion {
		return fmt.Errorf("unsupported tag version %d", t.Version)
	}
	if err := ValidateRefName("tag", t.Name); err != nil {
		return err
	}
	return t.Snapshot.validate()
}

// CreateTag tags snapshot s (of this table's branch) as name. The tag is
// created with put-if-absent: an existing tag of that name is an error
// wrapping types.ErrConflict. A tag of a snapshot that no longer exists is
// an error wrapping types.ErrNotFound.
func (t *Table) CreateTag(ctx context.Context, name string, s *Snapshot, auto bool) (*Tag, error) {
	if err := ValidateRefName("tag", name); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: tag %s: the table has no snapshot to tag", types.ErrInvalid, name)
	}
	tag := &Tag{Version: FormatVersion, Name: name, Snapshot: *s, CreatedMillis: t.opts.Now().UnixMilli(), Auto: auto, Branch: t.branch}
	b, err := EncodeTag(tag)
	if err != nil {
		return nil, err
	}
	_, err = t.store.PutIfAbsent(ctx, t.key(TagPath(name)), b)
	switch {
	case errors.Is(err, objstore.ErrPreconditionFailed):
		return nil, fmt.Errorf("%w: tag %s already exists in table %q", types.ErrConflict, name, t.root)
	case err != nil:
		return nil, fmt.Errorf("create tag %s of %q: %w", name, t.root, err)
	}
	// The snapshot object must still exist after the tag landed, else an
	// expiry that listed tags before our put may delete its files.
	if ok, err := t.exists(ctx, s.ID); err != nil || !ok {
		_ = t.store.Delete(ctx, t.key(TagPath(name)))
		if err != nil {
			return nil, fmt.Errorf("create tag %s of %q: %w", name, t.root, err)
		}
		return nil, fmt.Errorf("%w: tag %s: snapshot %d of %s has expired", types.ErrNotFound, name, s.ID, t.where())
	}
	return tag, nil
}

// Tag reads one tag; a missing tag is an error wrapping types.ErrNotFound.
func (t *Table) Tag(ctx context.Context, name string) (*Tag, error) {
	if err := ValidateRefName("tag", name); err != nil {
		return nil, err
	}
	b, _, err := t.store.Get(ctx, t.key(TagPath(name)))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: tag %s not found in table %q", types.ErrNotFound, name, t.root)
	}
	if err != nil {
		return nil, fmt.Errorf("read tag %s of %q: %w", name, t.root, err)
	}
	tag, err := DecodeTag(b)
	if err != nil {
		return nil, fmt.Errorf("tag %s of %q: %w", name, t.root, err)
	}
	return tag, nil
}

// Tags returns every tag of the table, sorted by name. Tags deleted while
// the call runs are left out.
func (t *Table) Tags(ctx context.Context) ([]*Tag, error) {
	infos, err := t.store.List(ctx, t.key(tagPrefix))
	if err != nil {
		return nil, fmt.Errorf("list tags of %q: %w", t.root, err)
	}
	var out []*Tag
	for _, in := range infos {
		name, ok := strings.CutPrefix(in.Key, t.key(tagPrefix))
		if !ok || ValidateRefName("tag", name) != nil {
			continue
		}
		tag, err := t.Tag(ctx, name)
		if errors.Is(err, types.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, tag)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteTag deletes a tag; a missing tag is an error wrapping
// types.ErrNotFound. The tagged snapshot's files are deleted later by
// expiry if nothing else references them.
func (t *Table) DeleteTag(ctx context.Context, name string) error {
	if _, err := t.Tag(ctx, name); err != nil {
		return err
	}
	if err := t.store.Delete(ctx, t.key(TagPath(name))); err != nil {
		return fmt.Errorf("delete tag %s of %q: %w", name, t.root, err)
	}
	return nil
}
