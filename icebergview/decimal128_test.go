package icebergview

import (
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/siltdb/silt/types"
)

// TestDecimal128Iceberg: DECIMAL(p,s) up to 38 digits maps to Iceberg's
// decimal(p,s), and a 128-bit value is a partition value (it had no
// Iceberg value before).
func TestDecimal128Iceberg(t *testing.T) {
	typ := types.TDecimal(38, 10)
	it, err := icebergType(typ)
	if err != nil || !it.Equals(iceberg.DecimalTypeOf(38, 10)) {
		t.Fatalf("icebergType(%s) = %v, %v", typ, it, err)
	}
	d, err := types.ParseDecimal128("-1234567890123456789012345678.0123456789", typ)
	if err != nil {
		t.Fatal(err)
	}
	v, err := icebergValue(d, typ)
	if err != nil {
		t.Fatal(err)
	}
	dv, ok := v.(iceberg.Decimal)
	if !ok || dv.Val != d.Num() || dv.Scale != 10 {
		t.Fatalf("icebergValue = %#v", v)
	}
}
