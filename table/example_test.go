package table_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// Example shows the writer API a stream job uses: open a table, write
// changelog rows with their row kinds, commit with an identifier (a retry
// with the same identifier is never applied twice), and read back, including
// an older snapshot.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "silt-example")
	defer os.RemoveAll(dir)

	store, err := objstore.NewLocal(dir) // or objstore.NewS3(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	cat := catalog.New(store, "", table.Env{})
	t, err := cat.CreateTable(ctx, "default", "users", &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt},
			{Name: "name", Type: types.TString},
		},
		PrimaryKeys: []string{"id"},
		Options:     map[string]string{"bucket": "2"},
	}, false)
	if err != nil {
		log.Fatal(err)
	}

	w := t.NewWriter("my-job") // the commit user: stable across restarts
	_ = w.Write(ctx, types.Insert, types.Row{int64(1), "ada"})
	_ = w.Write(ctx, types.Insert, types.Row{int64(2), "grace"})
	first, err := w.Commit(ctx, "checkpoint-1")
	if err != nil {
		log.Fatal(err)
	}
	_ = w.Write(ctx, types.UpdateBefore, types.Row{int64(1), "ada"})
	_ = w.Write(ctx, types.UpdateAfter, types.Row{int64(1), "ada lovelace"})
	_ = w.Write(ctx, types.Delete, types.Row{int64(2), nil})
	if _, err := w.Commit(ctx, "checkpoint-2"); err != nil {
		log.Fatal(err)
	}

	for _, snap := range []int64{0, first.ID} { // 0 = latest
		scan, err := t.NewScan(ctx, table.ScanOptions{SnapshotID: snap})
		if err != nil {
			log.Fatal(err)
		}
		// Rows come bucket by bucket, in key order within a bucket.
		fmt.Printf("snapshot %d:\n", scan.SnapshotID())
		for row, err := range scan.Rows(ctx) {
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(" ", row[0], row[1])
		}
	}
	row, ok, _ := t.Get(ctx, 0, int64(1))
	fmt.Println("get 1:", row[1], ok)
	// Output:
	// snapshot 2:
	//   1 ada lovelace
	// snapshot 1:
	//   1 ada
	//   2 grace
	// get 1: ada lovelace true
}
