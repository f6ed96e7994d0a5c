package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// FromEmpty makes an export start from the empty table: its first step
// publishes the whole latest state as inserts, whatever position is
// stored.
const FromEmpty = -1

// ExportOptions configure an Exporter.
type ExportOptions struct {
	// Brokers are the Kafka seed brokers. Required.
	Brokers []string
	// Topic receives the changelog. Required.
	Topic string
	// Encoder renders events (see NewEncoder). Required.
	Encoder Encoder
	// Name names the stored position (several exports of one table keep
	// separate positions). Default: the topic.
	Name string
	// From is where to start: 0 (default) resumes after the stored
	// position, or from the empty table when none is stored; n > 0
	// publishes the changes made after snapshot n; FromEmpty publishes
	// the latest state in full first.
	From int64
	// Follow keeps publishing new snapshots until ctx ends.
	Follow bool
	// PollInterval is how often Follow looks for new snapshots. Default 1s.
	PollInterval time.Duration
	// Security is the SASL and TLS of the Kafka connection.
	Security KafkaSecurity
	// ClientOpts are extra franz-go options, applied last.
	ClientOpts []kgo.Opt
	// Logf receives progress. Default: discard.
	Logf func(format string, args ...any)
}

// ExportStats say what an export published.
type ExportStats struct {
	// Steps is the number of snapshot diffs published; Position the last
	// snapshot fully published (and stored).
	Steps                     int
	Position                  int64
	Events                    int64
	Inserts, Updates, Deletes int64
	// BucketsSkipped counts buckets a diff skipped because their files
	// did not change.
	Buckets, BucketsSkipped int
}

// Exporter publishes a table's changes between snapshots to Kafka.
//
// Each step diffs the merged state of the last published snapshot with the
// next one (see Diff) and publishes one record per changed key; once Kafka
// acknowledged every record of the step, the snapshot id is stored as the
// position (an object next to the table's metadata, replaced with a
// conditional put so two exports under one name cannot both advance it).
// A crash between the acknowledgement and the position update republishes
// that one step: delivery is at least once per step, each record carries
// the snapshot id in the header "silt.snapshot", and both formats are
// idempotent for a consumer that applies them by key.
type Exporter struct {
	t *table.Table
	o ExportOptions
}

// Export record headers.
const (
	HeaderSnapshot = "silt.snapshot"
	HeaderOp       = "silt.op"
)

// NewExporter checks the options. It does no I/O.
func NewExporter(t *table.Table, o ExportOptions) (*Exporter, error) {
	if o.Name == "" {
		o.Name = o.Topic
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	switch {
	case len(o.Brokers) == 0:
		return nil, fmt.Errorf("%w: export: no brokers", types.ErrInvalid)
	case o.Encoder == nil:
		return nil, fmt.Errorf("%w: export: no format", types.ErrInvalid)
	case o.From < FromEmpty:
		return nil, fmt.Errorf("%w: export: bad start snapshot %d", types.ErrInvalid, o.From)
	}
	if err := ValidateTopic(o.Topic); err != nil {
		return nil, err
	}
	if err := o.Security.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateTopic(o.Name); err != nil {
		return nil, fmt.Errorf("export name: %w", err)
	}
	return &Exporter{t: t, o: o}, nil
}

// positionKind is the metadata envelope kind of a stored export position.
const positionKind = "export-position"

// Position is the stored progress of one export.
type Position struct {
	Version    int    `json:"version"`
	Table      string `json:"table"`
	Topic      string `json:"topic"`
	SnapshotID int64  `json:"snapshotId"`
}

// PositionPath is where an export's position lives, relative to the
// table root.
func PositionPath(name string) string { return "export/" + name }

// LoadPosition reads the stored position of export name (nil when none)
// and the ETag to replace it with.
func LoadPosition(ctx context.Context, t *table.Table, name string) (*Position, string, error) {
	key := t.Root() + PositionPath(name)
	b, info, err := t.Store().Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("export %s: read position: %w", name, err)
	}
	var p Position
	if err := manifest.DecodeObject(positionKind, b, &p); err != nil {
		return nil, "", fmt.Errorf("export %s: position %s: %w", name, key, err)
	}
	if p.Version > 1 || p.SnapshotID < 0 {
		return nil, "", fmt.Errorf("%w: export %s: position version %d, snapshot %d", types.ErrInvalid, name, p.Version, p.SnapshotID)
	}
	return &p, info.ETag, nil
}

func (e *Exporter) savePosition(ctx context.Context, id int64, etag string) (string, error) {
	b, err := manifest.EncodeObject(positionKind, &Position{Version: 1, Table: e.t.Name(), Topic: e.o.Topic, SnapshotID: id})
	if err != nil {
		return "", err
	}
	key := e.t.Root() + PositionPath(e.o.Name)
	var info objstore.ObjectInfo
	if etag == "" {
		info, err = e.t.Store().PutIfAbsent(ctx, key, b)
	} else {
		info, err = e.t.Store().PutIfMatch(ctx, key, b, etag)
	}
	if errors.Is(err, objstore.ErrPreconditionFailed) {
		return "", fmt.Errorf("%w: export %s: the position changed under this export (another export with the same name?)", types.ErrFenced, e.o.Name)
	}
	if err != nil {
		return "", fmt.Errorf("export %s: store position %d: %w", e.o.Name, id, err)
	}
	return info.ETag, nil
}

// Run publishes until it is caught up with the latest snapshot (or, with
// Follow, until ctx ends: then it returns the stats and ctx's error).
func (e *Exporter) Run(ctx context.Context) (ExportStats, error) {
	var st ExportStats
	pos, etag, err := LoadPosition(ctx, e.t, e.o.Name)
	if err != nil {
		return st, err
	}
	done := int64(0)
	if pos != nil {
		done = pos.SnapshotID
	}
	switch {
	case e.o.From > 0:
		done = e.o.From
	case e.o.From == FromEmpty:
		done = 0
	}
	st.Position = done
	sec, err := e.o.Security.ClientOpts()
	if err != nil {
		return st, fmt.Errorf("export %s: %w", e.o.Name, err)
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{
		kgo.SeedBrokers(e.o.Brokers...),
		kgo.ClientID("silt-export"),
		kgo.DefaultProduceTopic(e.o.Topic),
		kgo.ProducerLinger(5 * time.Millisecond),
	}, sec...), e.o.ClientOpts...)...)
	if err != nil {
		return st, fmt.Errorf("%w: export: kafka client: %v", types.ErrInvalid, err)
	}
	defer cl.Close()
	if err := checkConnect(ctx, cl, e.o.Brokers, e.o.Security, e.o.Logf); err != nil {
		return st, fmt.Errorf("export %s: %w", e.o.Name, err)
	}
	for {
		latest, err := e.t.Latest(ctx)
		if err != nil {
			return st, err
		}
		for latest != nil && done < latest.ID {
			from, to := (*manifest.Snapshot)(nil), latest
			if done > 0 {
				if from, err = e.t.Meta().Snapshot(ctx, done); err != nil {
					return st, fmt.Errorf("export %s: the last published snapshot %d is gone (expired?): restart with --from 0 or a retained snapshot: %w", e.o.Name, done, err)
				}
				if to, err = e.t.Meta().Snapshot(ctx, done+1); err != nil {
					return st, err
				}
			}
			if err := e.step(ctx, cl, from, to, &st); err != nil {
				return st, err
			}
			if etag, err = e.savePosition(ctx, to.ID, etag); err != nil {
				return st, err
			}
			done, st.Position = to.ID, to.ID
		}
		if !e.o.Follow {
			return st, nil
		}
		t := time.NewTimer(e.o.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		case <-t.C:
		}
	}
}

// step publishes the diff between two snapshots and waits for Kafka to
// acknowledge all of it.
func (e *Exporter) step(ctx context.Context, cl *kgo.Client, from, to *manifest.Snapshot, st *ExportStats) error {
	var (
		mu       sync.Mutex
		firstErr error
	)
	snap := []byte(strconv.FormatInt(to.ID, 10))
	ds, err := Diff(ctx, e.t, from, to, func(ev Event) error {
		k, v, err := e.o.Encoder.Encode(ev)
		if err != nil {
			return fmt.Errorf("export %s: encode: %w", e.o.Name, err)
		}
		rec := &kgo.Record{Key: k, Value: v, Headers: []kgo.RecordHeader{
			{Key: HeaderSnapshot, Value: snap}, {Key: HeaderOp, Value: []byte{byte(ev.Op)}},
		}}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
		return nil
	})
	if err != nil {
		return err
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("export %s: flush: %w", e.o.Name, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return fmt.Errorf("export %s: produce to %s: %w (snapshot %d not marked published; a rerun republishes it)", e.o.Name, e.o.Topic, firstErr, to.ID)
	}
	n := ds.Inserts + ds.Updates + ds.Deletes
	st.Steps++
	st.Events += n
	st.Inserts += ds.Inserts
	st.Updates += ds.Updates
	st.Deletes += ds.Deletes
	st.Buckets += ds.Buckets
	st.BucketsSkipped += ds.BucketsSkipped
	var fromID int64
	if from != nil {
		fromID = from.ID
	}
	e.o.Logf("export %s: snapshot %d → %d: %d changes (%d inserts, %d updates, %d deletes; %d of %d buckets unchanged)",
		e.o.Name, fromID, to.ID, n, ds.Inserts, ds.Updates, ds.Deletes, ds.BucketsSkipped, ds.Buckets)
	return nil
}
