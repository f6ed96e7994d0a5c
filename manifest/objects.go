package manifest

import (
	"fmt"
	"strings"

	"github.com/siltdb/silt/types"
)

// ManifestList is the body of a manifest-list object: the manifests of one
// snapshot, replayed in order. A manifest list belongs to exactly one
// snapshot; manifests are shared between lists.
type ManifestList struct {
	Manifests []ManifestMeta `json:"manifests"`
}

// Manifest is the body of a manifest object: ADD and DELETE entries,
// applied in order.
type Manifest struct {
	Entries []Entry `json:"entries"`
}

// EncodeSnapshot returns the v1 encoding of s.
func EncodeSnapshot(s *Snapshot) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%w: encode snapshot: %v", types.ErrInvalid, err)
	}
	return EncodeObject(KindSnapshot, s)
}

// DecodeSnapshot decodes and validates a snapshot object.
func DecodeSnapshot(data []byte) (*Snapshot, error) {
	var s Snapshot
	if err := DecodeObject(KindSnapshot, data, &s); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", types.ErrCorruption, err)
	}
	return &s, nil
}

// EncodeManifestList returns the v1 encoding of a manifest list.
func EncodeManifestList(l *ManifestList) ([]byte, error) {
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("%w: encode manifest list: %v", types.ErrInvalid, err)
	}
	return EncodeObject(KindManifestList, l)
}

// DecodeManifestList decodes and validates a manifest-list object.
func DecodeManifestList(data []byte) (*ManifestList, error) {
	var l ManifestList
	if err := DecodeObject(KindManifestList, data, &l); err != nil {
		return nil, err
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("%w: manifest list: %v", types.ErrCorruption, err)
	}
	return &l, nil
}

// EncodeManifest returns the encoding of a manifest (format version
// ManifestFormatVersion).
func EncodeManifest(m *Manifest) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: encode manifest: %v", types.ErrInvalid, err)
	}
	return EncodeObject(KindManifest, m)
}

// DecodeManifest decodes and validates a manifest object.
func DecodeManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := DecodeObject(KindManifest, data, &m); err != nil {
		return nil, err
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", types.ErrCorruption, err)
	}
	return &m, nil
}

func (s *Snapshot) validate() error {
	switch {
	case s.Version < 1 || s.Version > FormatVersion:
		return fmt.Errorf("unsupported snapshot version %d", s.Version)
	case s.ID < 1:
		return fmt.Errorf("snapshot id %d < 1", s.ID)
	case s.ParentID < 0 || s.ParentID >= s.ID:
		return fmt.Errorf("snapshot %d: parent id %d out of range", s.ID, s.ParentID)
	case s.NextSequence < 0:
		return fmt.Errorf("snapshot %d: negative next sequence %d", s.ID, s.NextSequence)
	case s.SchemaID < 0:
		return fmt.Errorf("snapshot %d: negative schema id %d", s.ID, s.SchemaID)
	}
	if err := validRelPath(s.ManifestList); err != nil {
		return fmt.Errorf("snapshot %d: manifest list: %v", s.ID, err)
	}
	if s.ChangelogManifestList != "" {
		if err := validRelPath(s.ChangelogManifestList); err != nil {
			return fmt.Errorf("snapshot %d: changelog manifest list: %v", s.ID, err)
		}
	}
	return nil
}

func (l *ManifestList) validate() error {
	for i, m := range l.Manifests {
		if err := validRelPath(m.Path); err != nil {
			return fmt.Errorf("manifest %d: %v", i, err)
		}
		if m.Size < 0 || m.NumAdded < 0 || m.NumDeleted < 0 {
			return fmt.Errorf("manifest %s: negative size or count", m.Path)
		}
	}
	return nil
}

func (m *Manifest) validate() error {
	for i, e := range m.Entries {
		if e.Kind != Add && e.Kind != Delete {
			return fmt.Errorf("entry %d: unknown entry kind %d", i, e.Kind)
		}
		if err := validRelPath(e.File.Path); err != nil {
			return fmt.Errorf("entry %d: data file: %v", i, err)
		}
		if err := ValidChecksum(e.File.Checksum); err != nil {
			return fmt.Errorf("entry %d: data file %s: %v", i, e.File.Path, err)
		}
	}
	return nil
}

// ChecksumPrefix starts every DataFile.Checksum.
const ChecksumPrefix = "crc32c:"

// ValidChecksum accepts "" and "crc32c:" followed by 8 lowercase hex
// digits (see DataFile.Checksum).
func ValidChecksum(c string) error {
	if c == "" {
		return nil
	}
	hex, ok := strings.CutPrefix(c, ChecksumPrefix)
	if !ok || len(hex) != 8 || strings.Trim(hex, "0123456789abcdef") != "" {
		return fmt.Errorf("checksum %q is not %s and 8 lowercase hex digits", c, ChecksumPrefix)
	}
	return nil
}

// validRelPath accepts '/'-separated paths relative to a table root with
// no empty, "." or ".." elements.
func validRelPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("path %q: backslash or NUL", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("path %q: empty, '.' or '..' element", p)
		}
	}
	return nil
}
