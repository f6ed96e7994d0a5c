// Package types defines silt's column types, runtime values, schemas, row
// kinds and the canonical, order-preserving encoding of primary keys.
//
// Runtime values are plain Go values, one concrete Go type per column type:
//
//	BOOLEAN       bool
//	INT           int32
//	BIGINT        int64
//	FLOAT         float32
//	DOUBLE        float64
//	DECIMAL(p,s)  Decimal   (unscaled int64; p <= 18)
//	STRING        string
//	BYTES         []byte
//	DATE          Date      (days since 1970-01-01)
//	TIMESTAMP     Timestamp (microseconds since 1970-01-01 UTC)
//
// A nil Value is SQL NULL. Every other package converts to and from these.
package types

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel error kinds shared across silt. Errors are wrapped with %w so
// callers can test them with errors.Is.
var (
	ErrInvalid    = errors.New("invalid")
	ErrNotFound   = errors.New("not found")
	ErrConflict   = errors.New("conflict")
	ErrCorruption = errors.New("corruption")
	ErrFenced     = errors.New("fenced")
)

// Kind is a column type without parameters.
type Kind uint8

const (
	KindInvalid Kind = iota
	Boolean
	Int
	BigInt
	Float
	Double
	DecimalKind
	String
	Bytes
	DateKind
	TimestampKind
)

var kindNames = [...]string{
	KindInvalid:   "INVALID",
	Boolean:       "BOOLEAN",
	Int:           "INT",
	BigInt:        "BIGINT",
	Float:         "FLOAT",
	Double:        "DOUBLE",
	DecimalKind:   "DECIMAL",
	String:        "STRING",
	Bytes:         "BYTES",
	DateKind:      "DATE",
	TimestampKind: "TIMESTAMP",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// MaxDecimalPrecision is the largest DECIMAL precision silt stores (unscaled
// values are int64).
const MaxDecimalPrecision = 18

// DataType is a column type with its parameters.
type DataType struct {
	Kind      Kind `json:"kind"`
	Precision int  `json:"precision,omitempty"`
	Scale     int  `json:"scale,omitempty"`
}

// Convenience constructors.
var (
	TBoolean   = DataType{Kind: Boolean}
	TInt       = DataType{Kind: Int}
	TBigInt    = DataType{Kind: BigInt}
	TFloat     = DataType{Kind: Float}
	TDouble    = DataType{Kind: Double}
	TString    = DataType{Kind: String}
	TBytes     = DataType{Kind: Bytes}
	TDate      = DataType{Kind: DateKind}
	TTimestamp = DataType{Kind: TimestampKind}
)

// TDecimal returns DECIMAL(p,s).
func TDecimal(p, s int) DataType { return DataType{Kind: DecimalKind, Precision: p, Scale: s} }

func (t DataType) String() string {
	if t.Kind == DecimalKind {
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	}
	return t.Kind.String()
}

// Validate reports whether t is a usable column type.
func (t DataType) Validate() error {
	if t.Kind == KindInvalid || int(t.Kind) >= len(kindNames) {
		return fmt.Errorf("%w: unknown column type %d", ErrInvalid, t.Kind)
	}
	if t.Kind == DecimalKind {
		if t.Precision < 1 || t.Precision > MaxDecimalPrecision {
			return fmt.Errorf("%w: DECIMAL precision %d out of range 1..%d", ErrInvalid, t.Precision, MaxDecimalPrecision)
		}
		if t.Scale < 0 || t.Scale > t.Precision {
			return fmt.Errorf("%w: DECIMAL scale %d out of range 0..%d", ErrInvalid, t.Scale, t.Precision)
		}
	}
	return nil
}

// ParseType parses a SQL type name such as "BIGINT", "decimal(10, 2)",
// "VARCHAR" (alias of STRING) or "INTEGER" (alias of INT).
func ParseType(s string) (DataType, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	name, args, hasArgs := u, "", false
	if i := strings.IndexByte(u, '('); i >= 0 {
		if !strings.HasSuffix(u, ")") {
			return DataType{}, fmt.Errorf("%w: bad type %q", ErrInvalid, s)
		}
		name, args, hasArgs = strings.TrimSpace(u[:i]), u[i+1:len(u)-1], true
	}
	var t DataType
	switch name {
	case "BOOLEAN", "BOOL":
		t = TBoolean
	case "INT", "INTEGER", "INT32":
		t = TInt
	case "BIGINT", "LONG", "INT64":
		t = TBigInt
	case "FLOAT", "REAL":
		t = TFloat
	case "DOUBLE", "DOUBLE PRECISION":
		t = TDouble
	case "DECIMAL", "NUMERIC":
		t = DataType{Kind: DecimalKind, Precision: 10, Scale: 0}
		if hasArgs { // "DECIMAL()" is a bad precision, not DECIMAL(10,0)
			parts := strings.Split(args, ",")
			if len(parts) > 2 {
				return DataType{}, fmt.Errorf("%w: bad type %q", ErrInvalid, s)
			}
			p, err := strconv.Atoi(strings.TrimSpace(parts[0]))
			if err != nil {
				return DataType{}, fmt.Errorf("%w: bad DECIMAL precision in %q", ErrInvalid, s)
			}
			t.Precision = p
			if len(parts) == 2 {
				sc, err := strconv.Atoi(strings.TrimSpace(parts[1]))
				if err != nil {
					return DataType{}, fmt.Errorf("%w: bad DECIMAL scale in %q", ErrInvalid, s)
				}
				t.Scale = sc
			}
		}
		hasArgs = false
	case "STRING", "VARCHAR", "TEXT", "CHAR":
		t = TString
		hasArgs = false // VARCHAR(n): length is not enforced
	case "BYTES", "BINARY", "VARBINARY", "BLOB":
		t = TBytes
		hasArgs = false
	case "DATE":
		t = TDate
	case "TIMESTAMP":
		t = TTimestamp
		hasArgs = false // TIMESTAMP(6) accepted; always microseconds
	default:
		return DataType{}, fmt.Errorf("%w: unknown type %q", ErrInvalid, s)
	}
	if hasArgs { // also "INT()"
		return DataType{}, fmt.Errorf("%w: type %s takes no parameters", ErrInvalid, name)
	}
	if err := t.Validate(); err != nil {
		return DataType{}, err
	}
	return t, nil
}

// RowKind is the change type of a changelog row.
type RowKind int8

const (
	Insert       RowKind = 0 // +I
	UpdateBefore RowKind = 1 // -U
	UpdateAfter  RowKind = 2 // +U
	Delete       RowKind = 3 // -D
)

func (k RowKind) String() string {
	switch k {
	case Insert:
		return "+I"
	case UpdateBefore:
		return "-U"
	case UpdateAfter:
		return "+U"
	case Delete:
		return "-D"
	}
	return fmt.Sprintf("RowKind(%d)", k)
}

// IsAdd reports whether the row adds state (+I, +U) rather than retracting it.
func (k RowKind) IsAdd() bool { return k == Insert || k == UpdateAfter }

// Valid reports whether k is one of the four kinds.
func (k RowKind) Valid() bool { return k >= Insert && k <= Delete }

// ParseRowKind parses "+I", "-U", "+U", "-D".
func ParseRowKind(s string) (RowKind, error) {
	switch strings.ToUpper(s) {
	case "+I":
		return Insert, nil
	case "-U":
		return UpdateBefore, nil
	case "+U":
		return UpdateAfter, nil
	case "-D":
		return Delete, nil
	}
	return 0, fmt.Errorf("%w: unknown row kind %q (want +I, -U, +U or -D)", ErrInvalid, s)
}

// ReadableAs reports whether values stored as type from are read as type to
// by silt's data-file readers without rewriting: the same type, or a
// lossless widening (INT to BIGINT, FLOAT to DOUBLE, DECIMAL to a DECIMAL of
// the same scale and no smaller precision). Schema evolution allows exactly
// the type changes this admits.
func ReadableAs(from, to DataType) bool {
	switch {
	case from == to:
		return true
	case from.Kind == Int && to.Kind == BigInt:
		return true
	case from.Kind == Float && to.Kind == Double:
		return true
	case from.Kind == DecimalKind && to.Kind == DecimalKind:
		return from.Scale == to.Scale && to.Precision >= from.Precision
	}
	return false
}
