package types

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func arrowTestSchema() *Schema {
	return &Schema{Fields: []Field{
		{ID: 0, Name: "b", Type: TBoolean}, {ID: 1, Name: "i", Type: TInt}, {ID: 2, Name: "l", Type: TBigInt},
		{ID: 3, Name: "f", Type: TFloat}, {ID: 4, Name: "d", Type: TDouble}, {ID: 5, Name: "m", Type: TDecimal(18, 3)},
		{ID: 6, Name: "s", Type: TString}, {ID: 7, Name: "y", Type: TBytes}, {ID: 8, Name: "dt", Type: TDate},
		{ID: 9, Name: "ts", Type: TTimestamp},
	}}
}

// TestArrowRoundTrip: every type, extreme values and NULLs survive
// BuildRecord then RecordRows, with the row kind column.
func TestArrowRoundTrip(t *testing.T) {
	s := arrowTestSchema()
	as, err := ArrowSchema(s, true)
	if err != nil {
		t.Fatal(err)
	}
	rows := []Row{
		{true, int32(math.MinInt32), int64(math.MaxInt64), float32(-0.5), math.Inf(-1), Decimal(-999999999999999999), "héllo", []byte{0, 1}, Date(-719528), Timestamp(math.MinInt64 + 1), Delete},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, Insert},
		{false, int32(7), int64(-1), float32(math.MaxFloat32), 1e-300, Decimal(999999999999999999), "", []byte{}, Date(2932896), Timestamp(0), UpdateAfter},
	}
	rec, err := BuildRecord(nil, as, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	got := RecordRows(rec)
	if len(got) != len(rows) {
		t.Fatalf("got %d rows, want %d", len(got), len(rows))
	}
	for r := range rows {
		for c := range rows[r] {
			if g, w := got[r][c], rows[r][c]; Compare(g, w) != 0 || g != nil && w != nil && fmt.Sprintf("%T", g) != fmt.Sprintf("%T", w) || fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("row %d column %d: got %#v, want %#v", r, c, got[r][c], rows[r][c])
			}
		}
	}
}

func TestBuildRecordRejectsWrongType(t *testing.T) {
	as, err := ArrowSchema(arrowTestSchema(), false)
	if err != nil {
		t.Fatal(err)
	}
	row := make(Row, 10)
	row[1] = int64(1) // INT column given an int64
	if _, err := BuildRecord(nil, as, []Row{row}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	if _, err := BuildRecord(nil, as, []Row{{int32(1)}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short row: got %v, want ErrInvalid", err)
	}
}

// TestValueAtCopiesStrings: a STRING value outlives its batch's buffer
// (a producer may reuse it once the batch is released).
func TestValueAtCopiesStrings(t *testing.T) {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	b.Append("alice")
	a := b.NewStringArray()
	b.Release()
	v := ValueAt(a, 0)
	buf := a.ValueBytes()
	buf[0] = 'X' // the producer reuses the buffer
	if v != "alice" {
		t.Fatalf("ValueAt shares the buffer: %q after it was overwritten", v)
	}
}
