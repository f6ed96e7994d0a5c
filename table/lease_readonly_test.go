package table

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestScanWithoutLeaseWhenAccessDenied: a reader whose store refuses
// writes (objstore.ErrAccessDenied) still reads an older snapshot, with
// no lease, and is told so once per scan; any other lease failure still
// fails the scan.
func TestScanWithoutLeaseWhenAccessDenied(t *testing.T) {
	ctx := context.Background()
	fault := objstore.NewFault(objstore.NewMem())
	var notices []string
	tb, err := Open("db.t", fault, "t/", simpleSchema(2), Env{OnNotice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 2; i++ {
		w := tb.NewWriter("job")
		mustWrite(t, w, types.Insert, types.Row{i, "x"})
		if _, err := w.Commit(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	denied := fmt.Errorf("s3 put-if-absent: %w", objstore.ErrAccessDenied)
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "lease", Err: denied})
	s, err := tb.NewScan(ctx, ScanOptions{SnapshotID: 1})
	if err != nil {
		t.Fatalf("scan of snapshot 1 with read-only credentials: %v", err)
	}
	if s.Lease() != nil {
		t.Error("a lease was reported although none could be written")
	}
	n := 0
	for _, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("snapshot 1: %d rows, want 1", n)
	}
	if len(notices) != 1 || notices[0] != UnleasedNotice("db.t", 1) {
		t.Errorf("notices %q, want one %q", notices, UnleasedNotice("db.t", 1))
	}
	// Other failures to write the lease are errors, as before.
	fault.Clear()
	fault.Add(objstore.Rule{Op: objstore.OpPutIfAbsent, KeyContains: "lease", Err: errors.New("disk full")})
	if _, err := tb.NewScan(ctx, ScanOptions{SnapshotID: 1}); err == nil {
		t.Fatal("a failed lease write other than access denied was ignored")
	}
}
