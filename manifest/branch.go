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

// Branches live under branch/<name>/: an info object branch/<name>/BRANCH
// (created first, with put-if-absent: it is the branch's existence) and
// the branch's own snapshot/ folder. Manifests, manifest lists and data
// files are shared with the rest of the table (they have unique names), so
// a branch costs one snapshot object per commit and shares every unchanged
// file with main.
const (
	BranchDir      = "branch/"
	branchInfoName = "BRANCH"
)

// BranchInfo describes a branch.
type BranchInfo struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	// From is the snapshot the branch was created from (nil: an empty
	// branch). The branch's first snapshot is a copy of it with the same id.
	From          *Snapshot `json:"from,omitempty"`
	FromBranch    string    `json:"fromBranch,omitempty"`
	FromTag       string    `json:"fromTag,omitempty"`
	CreatedMillis int64     `json:"createdMillis"`
}

func branchRoot(name string) string     { return BranchDir + name + "/" }
func branchInfoPath(name string) string { return branchRoot(name) + branchInfoName }

// BranchSnapshotDir returns the snapshot folder of a branch relative to the
// table root ("snapshot/" for main).
func BranchSnapshotDir(name string) string {
	if name == "" || name == MainBranch {
		return SnapshotDir
	}
	return branchRoot(name) + SnapshotDir
}

// EncodeBranchInfo returns the checksummed encoding of b.
func EncodeBranchInfo(b *BranchInfo) ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("%w: branch: %v", types.ErrInvalid, err)
	}
	return EncodeObject(KindBranch, b)
}

// DecodeBranchInfo decodes and validates a branch info object.
func DecodeBranchInfo(data []byte) (*BranchInfo, error) {
	var b BranchInfo
	if err := DecodeObject(KindBranch, data, &b); err != nil {
		return nil, err
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("%w: branch: %v", types.ErrCorruption, err)
	}
	return &b, nil
}

func (b *BranchInfo) validate() error {
	if b.Version < 1 || b.Version > FormatVersion {
		return fmt.Errorf("unsupported branch version %d", b.Version)
	}
	if err := validBranchName(b.Name); err != nil {
		return err
	}
	if b.From != nil {
		return b.From.validate()
	}
	return nil
}

func validBranchName(name string) error {
	if name == MainBranch {
		return fmt.Errorf("%w: branch name %q is reserved", types.ErrInvalid, name)
	}
	return ValidateRefName("branch", name)
}

// Branch returns the handle of branch name of this table without any I/O
// ("" or "main" is the main branch). Use OpenBranch to check that it
// exists. Commits through the handle publish the branch's snapshots.
func (t *Table) Branch(name string) *Table {
	b := *t
	if name == "" || name == MainBranch {
		b.branch, b.snapRoot = "", t.root
		return &b
	}
	b.branch, b.snapRoot = name, t.root+branchRoot(name)
	return &b
}

// BranchName returns the handle's branch: "" for main.
func (t *Table) BranchName() string { return t.branch }

// Main returns the handle of the main branch.
func (t *Table) Main() *Table { return t.Branch("") }

// OpenBranch returns the handle of an existing branch; an unknown branch is
// an error wrapping types.ErrNotFound. It finishes the creation of a branch
// whose creator crashed after writing the info object.
func (t *Table) OpenBranch(ctx context.Context, name string) (*Table, error) {
	if name == "" || name == MainBranch {
		return t.Main(), nil
	}
	info, err := t.BranchInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	b := t.Branch(name)
	if err := b.ensureFirstSnapshot(ctx, info); err != nil {
		return nil, err
	}
	return b, nil
}

// BranchInfo reads the info object of a branch.
func (t *Table) BranchInfo(ctx context.Context, name string) (*BranchInfo, error) {
	if err := validBranchName(name); err != nil {
		return nil, err
	}
	data, _, err := t.store.Get(ctx, t.key(branchInfoPath(name)))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: branch %s not found in table %q", types.ErrNotFound, name, t.root)
	}
	if err != nil {
		return nil, fmt.Errorf("read branch %s of %q: %w", name, t.root, err)
	}
	info, err := DecodeBranchInfo(data)
	if err != nil {
		return nil, fmt.Errorf("branch %s of %q: %w", name, t.root, err)
	}
	return info, nil
}

// CreateBranch creates branch name starting at snapshot from (nil: empty).
// fromBranch and fromTag only describe where from came from. An existing
// branch is an error wrapping types.ErrConflict.
func (t *Table) CreateBranch(ctx context.Context, name string, from *Snapshot, fromBranch, fromTag string) (*Table, error) {
	if err := validBranchName(name); err != nil {
		return nil, err
	}
	info := &BranchInfo{Version: FormatVersion, Name: name, From: from, FromBranch: fromBranch, FromTag: fromTag,
		CreatedMillis: t.opts.Now().UnixMilli()}
	data, err := EncodeBranchInfo(info)
	if err != nil {
		return nil, err
	}
	_, err = t.store.PutIfAbsent(ctx, t.key(branchInfoPath(name)), data)
	switch {
	case errors.Is(err, objstore.ErrPreconditionFailed):
		return nil, fmt.Errorf("%w: branch %s already exists in table %q", types.ErrConflict, name, t.root)
	case err != nil:
		return nil, fmt.Errorf("create branch %s of %q: %w", name, t.root, err)
	}
	b := t.Branch(name)
	if err := b.ensureFirstSnapshot(ctx, info); err != nil {
		return nil, err
	}
	return b, nil
}

// ensureFirstSnapshot writes the copy of the branch's source snapshot if it
// is missing (put-if-absent: a crashed creator is finished, never undone).
func (t *Table) ensureFirstSnapshot(ctx context.Context, info *BranchInfo) error {
	if info.From == nil {
		return nil
	}
	first := *info.From
	data, err := EncodeSnapshot(&first)
	if err != nil {
		return err
	}
	_, err = t.store.PutIfAbsent(ctx, t.skey(SnapshotPath(first.ID)), data)
	if err != nil && !errors.Is(err, objstore.ErrPreconditionFailed) {
		return fmt.Errorf("branch %s of %q: write first snapshot: %w", t.branch, t.root, err)
	}
	return nil
}

// Branches lists the table's branches (main not included), sorted by name.
func (t *Table) Branches(ctx context.Context) ([]*BranchInfo, error) {
	names, err := t.store.ListDirs(ctx, t.key(BranchDir))
	if err != nil {
		return nil, fmt.Errorf("list branches of %q: %w", t.root, err)
	}
	var out []*BranchInfo
	for _, n := range names {
		if validBranchName(n) != nil {
			continue
		}
		info, err := t.BranchInfo(ctx, n)
		if errors.Is(err, types.ErrNotFound) {
			continue // dropped, or a drop was interrupted
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// BranchFolders lists every folder under branch/, including those of
// branches whose drop was interrupted (garbage collection must treat their
// snapshots as references until they are gone).
func (t *Table) BranchFolders(ctx context.Context) ([]string, error) {
	names, err := t.store.ListDirs(ctx, t.key(BranchDir))
	if err != nil {
		return nil, fmt.Errorf("list branches of %q: %w", t.root, err)
	}
	return names, nil
}

// DropBranch deletes a branch: its info object first (the branch is gone
// from then on), then its snapshots. Files only the branch referenced
// become orphans for orphan cleanup. An unknown branch is an error
// wrapping types.ErrNotFound.
func (t *Table) DropBranch(ctx context.Context, name string) error {
	if _, err := t.BranchInfo(ctx, name); err != nil {
		return err
	}
	if err := t.store.Delete(ctx, t.key(branchInfoPath(name))); err != nil {
		return fmt.Errorf("drop branch %s of %q: %w", name, t.root, err)
	}
	return t.PurgeBranchFolder(ctx, name)
}

// PurgeBranchFolder deletes what is left under branch/<name>/ of a branch
// without an info object (a dropped branch). It refuses a live branch.
func (t *Table) PurgeBranchFolder(ctx context.Context, name string) error {
	if _, err := t.BranchInfo(ctx, name); err == nil {
		return fmt.Errorf("%w: branch %s of %q exists; drop it first", types.ErrInvalid, name, t.root)
	}
	prefix := t.key(branchRoot(name))
	infos, err := t.store.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("drop branch %s of %q: %w", name, t.root, err)
	}
	for _, in := range infos {
		if !strings.HasPrefix(in.Key, prefix) {
			continue
		}
		if err := t.store.Delete(ctx, in.Key); err != nil {
			return fmt.Errorf("drop branch %s of %q: delete %s: %w", name, t.root, in.Key, err)
		}
	}
	return nil
}
