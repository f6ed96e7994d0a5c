// Command streamjob is a small stream job that keeps its state in silt.
//
// It opens a local warehouse, creates a database and a primary-key table
// through the catalog, consumes an in-process stream of change events
// (inserts, updates and deletes of accounts), and commits each batch as
// one snapshot under a stable commit user and a commit identifier per
// batch. It then simulates a restart that replays the last batch and
// shows that committing the same identifier again applies nothing, reads
// the table with Get and a scan, and time-travels to an earlier snapshot.
// Every read is checked against a model of the stream; any mismatch makes
// it exit non-zero.
//
//	go run .                      # a fresh warehouse in a temp directory
//	go run . -warehouse ./wh      # or in ./wh (kept)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

func main() {
	warehouse := flag.String("warehouse", "", "warehouse directory (default: a new temporary directory, removed at exit)")
	flag.Parse()
	if err := run(context.Background(), *warehouse, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "streamjob:", err)
		os.Exit(1)
	}
}

// event is one change from the stream: an account's new balance, or its
// deletion.
type event struct {
	kind    types.RowKind // types.Insert, types.UpdateAfter or types.Delete
	id      int64
	owner   string
	balance int64
}

// stream generates n batches of change events over a few accounts: a
// deterministic stand-in for a Kafka topic or a CDC feed.
func stream(n int) [][]event {
	owners := []string{"ann", "bob", "cy", "dee", "eve"}
	var batches [][]event
	for b := range n {
		var batch []event
		for i := range 4 {
			id := int64((b*3+i)%len(owners)) + 1
			switch {
			case b > 0 && i == 3:
				batch = append(batch, event{kind: types.Delete, id: int64(b%len(owners)) + 1})
			case b == 0:
				batch = append(batch, event{types.Insert, id, owners[id-1], int64(100 * id)})
			default:
				batch = append(batch, event{types.UpdateAfter, id, owners[id-1], 100*id + int64(10*b+i)})
			}
		}
		batches = append(batches, batch)
	}
	return batches
}

// state is the model: what the table must hold after some batches.
type state map[int64]types.Row

func (s state) apply(batch []event) {
	for _, e := range batch {
		if e.kind == types.Delete {
			delete(s, e.id)
		} else {
			s[e.id] = types.Row{e.id, e.owner, e.balance}
		}
	}
}

func run(ctx context.Context, dir string, out io.Writer) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "silt-streamjob-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	fmt.Fprintf(out, "warehouse %s\n", dir)

	// README:begin
	store, err := objstore.NewLocal(dir) // or objstore.NewS3(ctx, cfg)
	if err != nil {
		return err
	}
	cat := catalog.New(store, "", table.Env{})
	if err := cat.CreateDatabase(ctx, "bank", true); err != nil {
		return err
	}
	accounts, err := cat.CreateTable(ctx, "bank", "accounts", &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt, NotNull: true},
			{Name: "owner", Type: types.TString},
			{Name: "balance", Type: types.TBigInt},
		},
		PrimaryKeys: []string{"id"},
		Options:     map[string]string{"bucket": "2"},
	}, true)
	if err != nil {
		return err
	}

	// One writer per job; its commit user stays the same across restarts.
	w := accounts.NewWriter("accounts-job")
	defer w.Close(ctx) // waits for its background compactions
	for i, batch := range stream(3) {
		for _, e := range batch {
			if err := w.Write(ctx, e.kind, types.Row{e.id, e.owner, e.balance}); err != nil {
				return err
			}
		}
		// One snapshot per batch; retrying an identifier never applies twice.
		snap, err := w.Commit(ctx, fmt.Sprintf("batch-%d", i))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "batch %d: %d events, snapshot %d\n", i, len(batch), snap.ID)
	}

	row, found, err := accounts.Get(ctx, 0, int64(1)) // point lookup at the latest snapshot
	if err != nil {
		return err
	}
	first, err := accounts.NewScan(ctx, table.ScanOptions{SnapshotID: 1}) // time travel
	if err != nil {
		return err
	}
	// README:end
	batches := stream(3)
	want := state{}
	for _, b := range batches {
		want.apply(b)
	}
	if err := check(fmt.Sprintf("Get(1) = %v, %v", row, found), found && equal(row, want[1])); err != nil {
		return err
	}
	fmt.Fprintf(out, "get 1: %v (found %v)\n", row, found)

	model := state{}
	model.apply(batches[0])
	if err := checkScan(ctx, out, first, model); err != nil {
		return err
	}
	latest, err := accounts.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		return err
	}
	if err := checkScan(ctx, out, latest, want); err != nil {
		return err
	}

	return restart(ctx, cat, batches, want, out)
}

// restart simulates a crash after the last commit but before the job
// recorded it: a new process opens the table again, replays the last
// batch and commits it under the same identifier. silt recognises the
// (user, identifier) pair and returns the snapshot already published;
// the data files the replay uploaded are left for orphan cleanup.
func restart(ctx context.Context, cat *catalog.Catalog, batches [][]event, want state, out io.Writer) error {
	accounts, err := cat.LoadTable(ctx, "bank", "accounts")
	if err != nil {
		return err
	}
	before, err := accounts.Latest(ctx)
	if err != nil {
		return err
	}
	last := len(batches) - 1
	w := accounts.NewWriter("accounts-job")
	defer w.Close(ctx)
	for _, e := range batches[last] {
		if err := w.Write(ctx, e.kind, types.Row{e.id, e.owner, e.balance}); err != nil {
			return err
		}
	}
	snap, err := w.Commit(ctx, fmt.Sprintf("batch-%d", last))
	if err != nil {
		return err
	}
	after, err := accounts.Latest(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restart: re-committed batch-%d -> snapshot %d (latest before %d, after %d)\n", last, snap.ID, before.ID, after.ID)
	if err := check("re-commit published a new snapshot", snap.ID == before.ID && after.ID == before.ID); err != nil {
		return err
	}
	scan, err := accounts.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		return err
	}
	if err := checkScan(ctx, out, scan, want); err != nil {
		return err
	}
	fmt.Fprintln(out, "ok")
	return nil
}

// checkScan reads every row of scan and compares them with want.
func checkScan(ctx context.Context, out io.Writer, scan *table.Scan, want state) error {
	got := state{}
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			return err
		}
		got[row[0].(int64)] = row
	}
	ids := slices.Sorted(maps.Keys(got))
	fmt.Fprintf(out, "snapshot %d: %d rows", scan.SnapshotID(), len(got))
	for _, id := range ids {
		fmt.Fprintf(out, " %v", got[id])
	}
	fmt.Fprintln(out)
	ok := len(got) == len(want)
	for id, row := range want {
		ok = ok && equal(got[id], row)
	}
	return check(fmt.Sprintf("snapshot %d does not hold the model's %d rows", scan.SnapshotID(), len(want)), ok)
}

func equal(a, b types.Row) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func check(what string, ok bool) error {
	if ok {
		return nil
	}
	return fmt.Errorf("mismatch: %s", what)
}
