package table

import (
	"context"
	"time"
)

// MaintainOptions configure one run of a table's lifecycle policies.
type MaintainOptions struct {
	// DryRun computes what would be done (MaintainReport.Next) without
	// changing anything.
	DryRun bool
	// Progress, if set, receives one line per step.
	Progress func(msg string)
}

// MaintainReport says what one run of the lifecycle policies did (or, in a
// dry run, would do).
type MaintainReport struct {
	Table             string
	TagsCreated       []string
	TagsDeleted       []string
	SnapshotsExpired  int
	PartitionsExpired int
	FilesTiered       int
	BytesTiered       int64
	FilesDeleted      int
	BytesDeleted      int64
	OrphansDeleted    int
	LeasesCleaned     int
	// Next describes, in a dry run, each action that would be taken.
	Next     []string
	Duration time.Duration
}

// Maintain runs the table's lifecycle policies once: automatic tags,
// snapshot expiry, partition expiry, tiering, orphan cleanup.
// TODO(lifecycle): implemented by the lifecycle work (issue 6).
func (t *Table) Maintain(ctx context.Context, o MaintainOptions) (*MaintainReport, error) {
	return &MaintainReport{Table: t.name}, nil
}
