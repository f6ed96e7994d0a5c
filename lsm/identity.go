package lsm

import (
	"bytes"
	"fmt"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// File identity. The checksums a data file carries prove that its bytes
// are intact, not that they are the file a manifest entry describes: a
// data file copied over another one (of the same size) is intact and would
// be read as the other file's rows. A manifest entry therefore records the
// file's tail CRC-32C (DataFile.Checksum, see Checksum), which covers the
// footer and so every row group's CRC-32C, and CheckIdentity compares it,
// with the row count and key range, against each file opened for it.

// Checksum returns the content checksum of an encoded (sealed) data file,
// to record as manifest.DataFile.Checksum.
func (f *EncodedFile) Checksum() (string, error) {
	size := int64(len(f.Data))
	footerOff, footerLen, err := footerBounds(f.Data[max(0, size-8):], size)
	if err != nil {
		return "", err
	}
	valueAt, value, err := locateChecksums(f.Data[footerOff:footerOff+footerLen], footerOff)
	if err != nil {
		return "", err
	}
	sums, err := parseChecksums(value, valueAt)
	if err != nil {
		return "", err
	}
	return formatChecksum(sums.tailCRC), nil
}

// Checksum returns the content checksum of the opened file (see
// manifest.DataFile.Checksum), from its verified footer.
func (f *FileReader) Checksum() (string, error) {
	v, ok := f.file.Lookup(checksumKey)
	if !ok {
		return "", fmt.Errorf("%w: footer has no %s entry", types.ErrCorruption, checksumKey)
	}
	sums, err := parseChecksums([]byte(v), 0)
	if err != nil {
		return "", err
	}
	return formatChecksum(sums.tailCRC), nil
}

func formatChecksum(crc uint32) string {
	return fmt.Sprintf("%s%08x", manifest.ChecksumPrefix, crc)
}

// CheckIdentity verifies that fr, opened for the manifest entry want, is
// the file the entry describes: same content checksum (when the entry
// records one: manifests of format version 1 do not), row count and key
// range. A mismatch is an error wrapping types.ErrCorruption that names the
// file and what differs, so a replaced file is never read as the one the
// manifest lists.
func CheckIdentity(fr *FileReader, want manifest.DataFile) error {
	differs := func(what string, manifestSays, fileHas any) error {
		return fmt.Errorf("%w: data file %s is not the file the manifest lists: its %s is %v, the manifest records %v"+
			" (the object was replaced or overwritten; restore the original from a backup, or roll back to a snapshot without it)",
			types.ErrCorruption, want.Path, what, fileHas, manifestSays)
	}
	if want.Checksum != "" {
		got, err := fr.Checksum()
		if err != nil {
			return fmt.Errorf("data file %s: %w", want.Path, err)
		}
		if got != want.Checksum {
			return differs("content checksum", want.Checksum, got)
		}
	}
	if fr.RowCount() != want.RowCount {
		return differs("row count", want.RowCount, fr.RowCount())
	}
	if !bytes.Equal(fr.MinKey(), want.MinKey) || !bytes.Equal(fr.MaxKey(), want.MaxKey) {
		return differs("key range", fmt.Sprintf("[%x, %x]", want.MinKey, want.MaxKey), fmt.Sprintf("[%x, %x]", fr.MinKey(), fr.MaxKey()))
	}
	return nil
}
