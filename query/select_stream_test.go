package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// TestStreamAndTopKMatchFullSort checks, over a random table, that (1) a
// streaming SELECT (ExecStream) yields exactly the rows the collecting path
// (Exec) returns, and (2) ORDER BY … LIMIT … OFFSET through the top-k heap
// returns the same rows as slicing the fully sorted result (ties keep scan
// order: the sort is stable, so the reference breaks ties by the key).
func TestStreamAndTopKMatchFullSort(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 7))
	ctx := context.Background()
	e, _ := newTestEngine(t)
	mustExec(t, e, "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT, b STRING)")
	var ins strings.Builder
	n := 1 + r.IntN(300)
	ins.WriteString("INSERT INTO t (id, a, b) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			ins.WriteString(", ")
		}
		a := "NULL"
		if r.IntN(5) > 0 {
			a = fmt.Sprint(r.IntN(20))
		}
		fmt.Fprintf(&ins, "(%d, %s, 's%d')", i, a, r.IntN(7))
	}
	mustExec(t, e, ins.String())
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	for i := 0; i < 200; i++ {
		where := pick("", " WHERE a > 5", " WHERE b = 's1' OR a IS NULL", " WHERE id % 3 = 0")
		limit := r.IntN(n + 5)
		offset := r.IntN(n + 5)
		tail := fmt.Sprintf(" LIMIT %d OFFSET %d", limit, offset)

		plain := "SELECT id, a + 1, b FROM t" + where + pick("", tail, fmt.Sprintf(" LIMIT %d", limit))
		want := mustExec(t, e, plain)[0]
		var got []types.Row
		err := e.ExecStream(ctx, plain, func(res *Result) error {
			if res.stream == nil {
				return fmt.Errorf("result does not stream")
			}
			for row, err := range res.All() {
				if err != nil {
					return err
				}
				got = append(got, row)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", plain, err)
		}
		if g, w := rowsText(&Result{Columns: want.Columns, Rows: got}), rowsText(want); g != w {
			t.Fatalf("%s: streamed\n%s\nwant\n%s", plain, g, w)
		}

		order := pick("a", "a DESC", "a NULLS FIRST", "b, a DESC NULLS LAST", "b DESC", "id % 4")
		sorted := "SELECT id, a, b FROM t" + where + " ORDER BY " + order
		// The scan yields rows in key (id) order, so a stable sort equals
		// a sort that breaks ties by id.
		full := mustExec(t, e, sorted+", id")[0].Rows
		lo := min(offset, len(full))
		hi := min(lo+limit, len(full))
		top := mustExec(t, e, sorted+tail)[0]
		if g, w := rowsText(top), rowsText(&Result{Columns: top.Columns, Rows: full[lo:hi]}); g != w {
			t.Fatalf("%s%s: top-k\n%s\nwant\n%s", sorted, tail, g, w)
		}
	}
}

// TestStreamErrorMidStream: an evaluation error after some rows ends the
// output with an error, after the rows before it were written.
func TestStreamErrorMidStream(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT); INSERT INTO t (id, a) VALUES (1, 1), (2, 0), (3, 1)")
	var buf bytes.Buffer
	err := e.ExecStream(context.Background(), "SELECT id, 10 / a FROM t", func(r *Result) error {
		return WriteResult(&buf, r, "csv")
	})
	if err == nil || !errors.Is(err, types.ErrInvalid) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line wrapping ErrInvalid", err)
	}
	if !strings.HasPrefix(buf.String(), "id,") {
		t.Fatalf("partial output %q lacks the header", buf.String())
	}
}

// TestArrowStreamsBatches: a streaming result of more than arrowBatchRows
// rows is written as several record batches that hold every row in order.
func TestArrowStreamsBatches(t *testing.T) {
	const n = arrowBatchRows*2 + 5
	r := &Result{Columns: []Column{{Name: "x", Type: types.DataType{Kind: types.BigInt}}}}
	r.stream = func(yield func(types.Row, error) bool) {
		for i := int64(0); i < n; i++ {
			if !yield(types.Row{i}, nil) {
				return
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteResult(&buf, r, "arrow"); err != nil {
		t.Fatal(err)
	}
	rd, err := ipc.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	batches, next := 0, int64(0)
	for rd.Next() {
		rec := rd.Record()
		batches++
		for i := 0; i < int(rec.NumRows()); i++ {
			if v := fromArrow(rec.Column(0), i); v != next {
				t.Fatalf("row %d: got %v", next, v)
			}
			next++
		}
	}
	if err := rd.Err(); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if batches != 3 || next != n {
		t.Fatalf("%d batches, %d rows; want 3 batches, %d rows", batches, next, n)
	}
}

// TestArrowStreamErrorKeepsRows: in the Arrow format too, an error
// mid-stream comes after the rows before it were written, on the
// vectorized pipeline and on the row path.
func TestArrowStreamErrorKeepsRows(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT); INSERT INTO t (id, a) VALUES (1, 1), (2, 2), (3, 0), (4, 1)")
	for _, rowPath := range []bool{false, true} {
		e.rowEngine = rowPath
		var buf bytes.Buffer
		err := e.ExecStream(context.Background(), "SELECT id, 10 / a FROM t", func(r *Result) error {
			return WriteResult(&buf, r, "arrow")
		})
		if err == nil || !strings.Contains(err.Error(), "division by zero") {
			t.Fatalf("row path %v: error %v, want division by zero", rowPath, err)
		}
		rd, err := ipc.NewReader(&buf)
		if err != nil {
			t.Fatalf("row path %v: %v", rowPath, err)
		}
		var got []string
		for rd.Next() {
			for _, row := range types.RecordRows(rd.Record()) {
				got = append(got, fmt.Sprint(row))
			}
		}
		rd.Release()
		if strings.Join(got, " ") != "[1 10] [2 5]" {
			t.Fatalf("row path %v: rows %q, want the two before the error", rowPath, got)
		}
	}
}
