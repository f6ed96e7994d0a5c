package query

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// TestDecimalSumOutgrowsColumn: an aggregation table whose DECIMAL sum
// needs more digits than the column has cannot be read at that type, and
// the error (the same on the row path and on batches) says how to read it;
// the suggested ALTER makes the value readable, nothing was lost.
func TestDecimalSumOutgrowsColumn(t *testing.T) {
	for _, rowPath := range []bool{false, true} {
		t.Run(fmt.Sprintf("rowEngine=%v", rowPath), func(t *testing.T) {
			e, _ := siltEngine(t)
			e.rowEngine = rowPath
			mustExec(t, e, `CREATE TABLE t (id INT PRIMARY KEY, s DECIMAL(3,1)) WITH ('merge-engine'='aggregation', 'fields.s.aggregate-function'='sum');
				INSERT INTO t VALUES (1, 60);
				INSERT INTO t VALUES (1, 60)`)
			err := execErr(t, e, `SELECT * FROM t`)
			const fix = "ALTER TABLE default.t ALTER COLUMN s TYPE DECIMAL(18,1)"
			if !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "does not fit DECIMAL(3,1)") || !strings.Contains(err.Error(), fix) {
				t.Fatalf("got %v, want the value named and the fix %q", err, fix)
			}
			mustExec(t, e, fix)
			res := mustExec(t, e, `SELECT s FROM t`)
			var got []string
			for row, err := range res[0].All() {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, types.FormatValue(row[0], types.TDecimal(18, 1)))
			}
			if len(got) != 1 || got[0] != "120.0" {
				t.Fatalf("after widening: got %v, want [120.0]", got)
			}
		})
	}
}
