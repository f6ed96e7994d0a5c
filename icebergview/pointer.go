package icebergview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// Layout under a table root. Everything the view writes lives under
// iceberg/, which silt's orphan cleanup never lists; the publisher cleans
// it itself (clean.go).
const (
	// Dir is the folder of the Iceberg view under a table root.
	Dir = "iceberg/"
	// PointerPath is the object naming the current metadata file: the one
	// mutable object, switched with a conditional put.
	PointerPath = Dir + "CURRENT"
	// MetadataDir holds the metadata JSON files, <version>-<id>.metadata.json.
	MetadataDir = Dir + "metadata/"
	// SnapDir holds one folder per published Iceberg snapshot: its
	// manifest list, manifests and position delete files.
	SnapDir = Dir + "snap/"
)

// pointerVersion is the format version of the pointer object.
const pointerVersion = 1

// pointer is the body of iceberg/CURRENT.
type pointer struct {
	Version int `json:"version"`
	// Metadata is the metadata file, relative to the table root.
	Metadata string `json:"metadata"`
	// Location is the metadata file's URI as readers open it.
	Location string `json:"location"`
	// Snapshot is the silt snapshot id of main the metadata's main ref
	// names (0: none), to show how far the view got.
	Snapshot int64 `json:"snapshot,omitempty"`
}

// maxPointerSize bounds what decodePointer accepts.
const maxPointerSize = 64 << 10

func encodePointer(p *pointer) ([]byte, error) {
	return json.Marshal(p)
}

// decodePointer parses and checks a pointer object.
func decodePointer(data []byte) (*pointer, error) {
	if len(data) > maxPointerSize {
		return nil, fmt.Errorf("%w: iceberg pointer: %d bytes, more than %d", types.ErrCorruption, len(data), maxPointerSize)
	}
	var p pointer
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%w: iceberg pointer: %v", types.ErrCorruption, err)
	}
	if p.Version < 1 || p.Version > pointerVersion {
		return nil, fmt.Errorf("%w: iceberg pointer: unsupported version %d", types.ErrCorruption, p.Version)
	}
	if !strings.HasPrefix(p.Metadata, MetadataDir) || strings.Contains(p.Metadata, "..") || !strings.HasSuffix(p.Metadata, ".metadata.json") {
		return nil, fmt.Errorf("%w: iceberg pointer: metadata path %q is not under %s", types.ErrCorruption, p.Metadata, MetadataDir)
	}
	if p.Location == "" || p.Snapshot < 0 {
		return nil, fmt.Errorf("%w: iceberg pointer: missing location or bad snapshot id", types.ErrCorruption)
	}
	return &p, nil
}

// readPointer returns the pointer and its ETag, or nil, "" when there is
// none.
func readPointer(ctx context.Context, store objstore.Store, root string) (*pointer, string, error) {
	data, info, err := store.Get(ctx, root+PointerPath)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read iceberg pointer of %q: %w", root, err)
	}
	p, err := decodePointer(data)
	if err != nil {
		return nil, "", fmt.Errorf("table %q: %w", root, err)
	}
	return p, info.ETag, nil
}

// Current returns the location (a URI an outside reader opens: s3://… on
// S3, file://… on a local warehouse) and the content of the newest
// published Iceberg metadata file of the table stored at root in store.
// It returns an error wrapping ErrNotPublished when there is none.
func Current(ctx context.Context, store objstore.Store, root string) (location string, metadataJSON []byte, err error) {
	p, _, err := readPointer(ctx, store, root)
	if err != nil {
		return "", nil, err
	}
	if p == nil {
		return "", nil, fmt.Errorf("table %q: %w (set metadata.iceberg.enabled = 'true' and commit)", root, ErrNotPublished)
	}
	data, _, err := store.Get(ctx, root+p.Metadata)
	if err != nil {
		return "", nil, fmt.Errorf("table %q: read iceberg metadata %s: %w", root, p.Metadata, err)
	}
	return p.Location, data, nil
}

// switchPointer makes np the current pointer: put-if-match on the ETag
// read at the start (put-if-absent for the first publication). Losing is
// errLostRace; an ambiguous outcome is resolved by reading back.
func switchPointer(ctx context.Context, store objstore.Store, root string, np *pointer, etag string, exists bool) error {
	data, err := encodePointer(np)
	if err != nil {
		return err
	}
	if exists {
		_, err = store.PutIfMatch(ctx, root+PointerPath, data, etag)
	} else {
		_, err = store.PutIfAbsent(ctx, root+PointerPath, data)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, objstore.ErrPreconditionFailed):
		return errLostRace
	case errors.Is(err, objstore.ErrAmbiguous):
		got, _, rerr := readPointer(ctx, store, root)
		if rerr == nil && got != nil && got.Metadata == np.Metadata {
			return nil
		}
		if rerr == nil {
			return errLostRace
		}
		return fmt.Errorf("switch iceberg pointer: %w (read-back: %v)", err, rerr)
	}
	return fmt.Errorf("switch iceberg pointer: %w", err)
}
