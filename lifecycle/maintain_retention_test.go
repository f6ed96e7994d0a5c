package lifecycle

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestMaintainRespectsNumRetainedMax: one Maintain pass whose partition
// expiry and tiering each commit a snapshot still leaves at most
// snapshot.num-retained.max snapshots: the commits made by the pass are
// counted against the maximum too.
func TestMaintainRespectsNumRetainedMax(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts map[string]string
		want int // snapshots left
	}{
		{"partition expiry", map[string]string{
			table.OptPartitionExpiration: "30d", table.OptPartitionTimeFormatter: "yyyyMMdd",
		}, 3},
		{"partition expiry and tiering", map[string]string{
			table.OptPartitionExpiration: "30d", table.OptPartitionTimeFormatter: "yyyyMMdd",
			table.OptTierPartitionAge: "7d",
		}, 3},
		// Without a maximum the pass's own commits expire nothing more:
		// age and the minimum apply to the snapshots the pass started
		// with (the two oldest of five, min 3), not to its new ones.
		{"no maximum", map[string]string{
			table.OptPartitionExpiration: "30d", table.OptPartitionTimeFormatter: "yyyyMMdd",
			table.OptSnapshotNumRetainedMax: "", table.OptSnapshotNumRetainedMin: "3", table.OptSnapshotTimeRetained: "1s",
		}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock() // 2026-06-01
			hot := newClockStore(objstore.NewMem(), clock.Now)
			cold := newClockStore(objstore.NewMem(), clock.Now)
			opts := map[string]string{
				table.OptSnapshotNumRetainedMin: "1", table.OptSnapshotNumRetainedMax: "3",
				table.OptSnapshotTimeRetained: "1000d",
			}
			for k, v := range tc.opts {
				if v == "" {
					delete(opts, k)
				} else {
					opts[k] = v
				}
			}
			tb, err := table.Open("db.t", hot, "t/", partSchema(opts), lifecycleEnv(clock, hot, cold))
			if err != nil {
				t.Fatal(err)
			}
			w := tb.NewWriter("w")
			for i, dt := range []string{"20260101", "20260430", "20260520", "20260525", "20260531"} {
				mustWrite(t, w, types.Insert, types.Row{dt, int64(i), "x"})
				if _, err := w.Commit(ctx, fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Minute)
			}
			rep, err := Maintain(ctx, tb, MaintainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.PartitionsExpired == 0 {
				t.Fatalf("the pass should expire partitions: %+v", rep)
			}
			snaps, err := tb.Meta().Snapshots(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("report %+v; %d snapshots left", rep, len(snaps))
			if len(snaps) != tc.want {
				t.Fatalf("%d snapshots after one maintain pass, want %d (options %v)", len(snaps), tc.want, opts)
			}
			if got := fmt.Sprint(partRows(t, tb, 0)); got != "map[20260520:1 20260525:1 20260531:1]" {
				t.Fatalf("latest snapshot reads %s", got)
			}
		})
	}
}
