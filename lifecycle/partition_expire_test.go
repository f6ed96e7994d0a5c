package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

func partSchema(opts map[string]string) *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "dt", Type: types.TString, NotNull: true},
			{ID: 1, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 2, Name: "v", Type: types.TString},
		},
		PrimaryKeys:    []string{"dt", "id"},
		PartitionKeys:  []string{"dt"},
		HighestFieldID: 2,
		Options:        map[string]string{table.OptWriteOnly: "true"},
	}
	for k, v := range opts {
		s.Options[k] = v
	}
	return s
}

func partRows(t *testing.T, tb *table.Table, id int64) map[string]int {
	t.Helper()
	ctx := context.Background()
	sc, err := tb.NewScan(ctx, table.ScanOptions{SnapshotID: id})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close(ctx)
	out := map[string]int{}
	for row, err := range sc.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out[row[0].(string)]++
	}
	return out
}

// TestPartitionExpiry: partitions whose time (yyyyMMdd) is older than
// partition.expiration-time are dropped by one OVERWRITE snapshot; older
// snapshots still read them; unparseable partitions never expire.
func TestPartitionExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock() // 2026-06-01
	hot := newClockStore(objstore.NewMem(), clock.Now)
	tb, err := table.Open("db.t", hot, "t/", partSchema(map[string]string{
		table.OptPartitionExpiration: "30d", table.OptPartitionTimeFormatter: "yyyyMMdd",
	}), lifecycleEnv(clock, hot, objstore.NewMem()))
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	for i, dt := range []string{"20260101", "20260430", "20260520", "20260531", "not-a-date"} {
		for k := 0; k < 3; k++ {
			mustWrite(t, w, types.Insert, types.Row{dt, int64(i*10 + k), "x"})
		}
	}
	s1, err := w.Commit(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	_, next, err := ExpirePartitions(ctx, tb, true)
	if err != nil || len(next) != 1 {
		t.Fatalf("dry run: %v %v", next, err)
	}
	rep, _, err := ExpirePartitions(ctx, tb, false)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Partitions) != "[dt=20260101 dt=20260430]" || rep.Snapshot != 2 {
		t.Fatalf("expired %+v", rep)
	}
	if got := fmt.Sprint(partRows(t, tb, 2)); got != "map[20260520:3 20260531:3 not-a-date:3]" {
		t.Fatalf("after partition expiry: %s", got)
	}
	if got := len(partRows(t, tb, s1.ID)); got != 5 {
		t.Fatalf("snapshot 1 lost partitions: %d", got)
	}
	if rep, _, err := ExpirePartitions(ctx, tb, false); err != nil || len(rep.Partitions) != 0 {
		t.Fatalf("second run: %+v %v", rep, err)
	}
	clock.Advance(20 * 24 * time.Hour) // 2026-06-21: 20260520 is now older than 30d
	if rep, _, err := ExpirePartitions(ctx, tb, false); err != nil || fmt.Sprint(rep.Partitions) != "[dt=20260520]" {
		t.Fatalf("later: %+v %v", rep, err)
	}
}

// TestTierPartitionAge: tier.partition-age moves the files of old
// partitions only.
func TestTierPartitionAge(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	hot := newClockStore(objstore.NewMem(), clock.Now)
	cold := newClockStore(objstore.NewMem(), clock.Now)
	tb, err := table.Open("db.t", hot, "t/", partSchema(map[string]string{
		table.OptTierPartitionAge: "7d", table.OptPartitionTimePattern: "$dt", table.OptPartitionTimeFormatter: "yyyy-MM-dd",
	}), lifecycleEnv(clock, hot, cold))
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	mustWrite(t, w, types.Insert, types.Row{"2026-05-01", int64(1), "old"})
	mustWrite(t, w, types.Insert, types.Row{"2026-05-31", int64(2), "new"})
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	rep, _, err := TierFiles(ctx, tb, false)
	if err != nil || rep.Files != 1 {
		t.Fatalf("tiering: %+v %v", rep, err)
	}
	_, files, _ := tb.DataFiles(ctx, 0, 0)
	for _, f := range files {
		if want := map[string]string{"dt=2026-05-01": table.TierCold, "dt=2026-05-31": ""}[f.Partition]; f.Tier != want {
			t.Errorf("%s: tier %q, want %q", f.Partition, f.Tier, want)
		}
	}
	if got := fmt.Sprint(partRows(t, tb, 0)); got != "map[2026-05-01:1 2026-05-31:1]" {
		t.Fatalf("read: %s", got)
	}
}

// TestPartitionPatternUnknownColumn: a partition time pattern naming a
// column that is not a partition column is reported when used.
func TestPartitionPatternUnknownColumn(t *testing.T) {
	s := partSchema(map[string]string{table.OptPartitionExpiration: "1d", table.OptPartitionTimePattern: "$day"})
	tb, err := table.Open("db.t", objstore.NewMem(), "t/", s, table.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ExpirePartitions(context.Background(), tb, false); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "$day") {
		t.Errorf("unknown pattern column: %v", err)
	}
}
