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
//	DECIMAL(p,s)  Decimal128 (unscaled 128 bits; 18 < p <= 38)
//	TIME          TimeOfDay (microseconds since midnight)
//	TIMESTAMP_LTZ TimestampLTZ (an instant: microseconds since 1970-01-01 UTC)
//	UUID          UUID      ([16]byte)
//	ARRAY<T>      List      ([]Value of T)
//	MAP<K,V>      Map       ([]MapEntry{Key, Value}, in stored order)
//	ROW<...>      Struct    ([]Value, one per field)
//
// A nil Value is SQL NULL. Every other package converts to and from these.
package types

import (
	"errors"
	"fmt"
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
	// Kinds below were added after format version 1; their values are
	// stored (schemas in JSON, key-encoding tags) and never renumbered.
	TimeKind         // TIME: time of day, microseconds
	TimestampLTZKind // TIMESTAMP_LTZ: an instant, microseconds since the epoch, shown in a time zone
	UUIDKind         // UUID: 16 bytes
	ArrayKind        // ARRAY<T>: Fields[0] is the element ("element")
	MapKind          // MAP<K,V>: Fields[0] the key ("key"), Fields[1] the value ("value")
	StructKind       // ROW<f T, ...>: Fields are the nested fields
)

var kindNames = [...]string{
	KindInvalid:      "INVALID",
	Boolean:          "BOOLEAN",
	Int:              "INT",
	BigInt:           "BIGINT",
	Float:            "FLOAT",
	Double:           "DOUBLE",
	DecimalKind:      "DECIMAL",
	String:           "STRING",
	Bytes:            "BYTES",
	DateKind:         "DATE",
	TimestampKind:    "TIMESTAMP",
	TimeKind:         "TIME",
	TimestampLTZKind: "TIMESTAMP_LTZ",
	UUIDKind:         "UUID",
	ArrayKind:        "ARRAY",
	MapKind:          "MAP",
	StructKind:       "ROW",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// MaxDecimalPrecision is the largest DECIMAL precision silt accepts.
const MaxDecimalPrecision = MaxDecimal128Precision

// MaxDecimal64Precision is the largest precision whose values are Decimal
// (unscaled int64, Parquet INT64). Larger precisions, up to 38, hold
// Decimal128 values (Parquet FIXED_LEN_BYTE_ARRAY of the minimum length).
const MaxDecimal64Precision = 18

// MaxDecimal128Precision is the largest precision a Decimal128 holds.
const MaxDecimal128Precision = 38

// DataType is a column type with its parameters. Nested types (ARRAY, MAP,
// ROW) describe their children as Fields, each with its own field id, so
// schema evolution by field id reaches nested fields: an ARRAY has one field
// named "element", a MAP two named "key" and "value", a ROW its named fields.
// DataType is not comparable with ==; use Equal.
type DataType struct {
	Kind      Kind    `json:"kind"`
	Precision int     `json:"precision,omitempty"`
	Scale     int     `json:"scale,omitempty"`
	Fields    []Field `json:"fields,omitempty"`
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
	TTime      = DataType{Kind: TimeKind}
	// TTimestampLTZ is TIMESTAMP_LTZ (TIMESTAMP WITH LOCAL TIME ZONE).
	TTimestampLTZ = DataType{Kind: TimestampLTZKind}
	TUUID         = DataType{Kind: UUIDKind}
)

// TDecimal returns DECIMAL(p,s).
func TDecimal(p, s int) DataType { return DataType{Kind: DecimalKind, Precision: p, Scale: s} }

// Names of the children of ARRAY and MAP types.
const (
	ElementFieldName = "element"
	KeyFieldName     = "key"
	ValueFieldName   = "value"
)

// TArray returns ARRAY<elem> with a nullable element of field id 0 (ids of
// nested fields are assigned by the schema; see AssignNestedIDs).
func TArray(elem DataType) DataType {
	return DataType{Kind: ArrayKind, Fields: []Field{{Name: ElementFieldName, Type: elem}}}
}

// TMap returns MAP<key, value>; the key is NOT NULL, the value nullable.
func TMap(key, value DataType) DataType {
	return DataType{Kind: MapKind, Fields: []Field{
		{Name: KeyFieldName, Type: key, NotNull: true},
		{Name: ValueFieldName, Type: value},
	}}
}

// TStruct returns ROW<fields...>.
func TStruct(fields ...Field) DataType { return DataType{Kind: StructKind, Fields: fields} }

// IsNested reports whether t is ARRAY, MAP or ROW.
func (t DataType) IsNested() bool {
	return t.Kind == ArrayKind || t.Kind == MapKind || t.Kind == StructKind
}

// Elem is the element type of an ARRAY.
func (t DataType) Elem() DataType { return t.Fields[0].Type }

// Key and Value are the key and value types of a MAP.
func (t DataType) Key() DataType   { return t.Fields[0].Type }
func (t DataType) Value() DataType { return t.Fields[1].Type }

// Is128 reports whether t is a DECIMAL whose values are Decimal128.
func (t DataType) Is128() bool {
	return t.Kind == DecimalKind && t.Precision > MaxDecimal64Precision
}

// String renders t in the syntax ParseType reads: DECIMAL(10,2),
// ARRAY<INT>, MAP<STRING, BIGINT>, ROW<a INT NOT NULL, b STRING>.
func (t DataType) String() string {
	switch t.Kind {
	case DecimalKind:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case ArrayKind:
		if len(t.Fields) == 1 {
			return "ARRAY<" + nestedFieldType(&t.Fields[0]) + ">"
		}
	case MapKind:
		if len(t.Fields) == 2 {
			return "MAP<" + t.Fields[0].Type.String() + ", " + nestedFieldType(&t.Fields[1]) + ">"
		}
	case StructKind:
		var b strings.Builder
		b.WriteString("ROW<")
		for i := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteFieldName(t.Fields[i].Name))
			b.WriteByte(' ')
			b.WriteString(nestedFieldType(&t.Fields[i]))
		}
		b.WriteByte('>')
		return b.String()
	}
	return t.Kind.String()
}

func nestedFieldType(f *Field) string {
	if f.NotNull {
		return f.Type.String() + " NOT NULL"
	}
	return f.Type.String()
}

// quoteFieldName returns a nested field name as String writes it: names are
// identifiers (ValidateIdentifier), so they need no quoting.
func quoteFieldName(name string) string { return name }

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
	} else if t.Precision != 0 || t.Scale != 0 {
		return fmt.Errorf("%w: type %s takes no precision or scale", ErrInvalid, t.Kind)
	}
	return t.validateFields()
}

// validateFields checks the children of a nested type, recursively.
func (t DataType) validateFields() error {
	switch t.Kind {
	case ArrayKind:
		if len(t.Fields) != 1 || t.Fields[0].Name != ElementFieldName {
			return fmt.Errorf("%w: ARRAY needs exactly one field named %q", ErrInvalid, ElementFieldName)
		}
	case MapKind:
		if len(t.Fields) != 2 || t.Fields[0].Name != KeyFieldName || t.Fields[1].Name != ValueFieldName {
			return fmt.Errorf("%w: MAP needs exactly the fields %q and %q", ErrInvalid, KeyFieldName, ValueFieldName)
		}
		if !t.Fields[0].NotNull {
			return fmt.Errorf("%w: MAP keys are NOT NULL", ErrInvalid)
		}
		if t.Fields[0].Type.IsNested() {
			return fmt.Errorf("%w: MAP key type %s is nested; use a scalar key type", ErrInvalid, t.Fields[0].Type)
		}
	case StructKind:
		if len(t.Fields) == 0 {
			return fmt.Errorf("%w: ROW needs at least one field", ErrInvalid)
		}
		seen := make(map[string]bool, len(t.Fields))
		for _, f := range t.Fields {
			if err := ValidateIdentifier("column", f.Name); err != nil {
				return fmt.Errorf("ROW field: %w", err)
			}
			low := strings.ToLower(f.Name)
			if seen[low] {
				return fmt.Errorf("%w: duplicate ROW field %q", ErrInvalid, f.Name)
			}
			seen[low] = true
		}
	default:
		if len(t.Fields) != 0 {
			return fmt.Errorf("%w: type %s has no fields", ErrInvalid, t.Kind)
		}
		return nil
	}
	for _, f := range t.Fields {
		if err := f.Type.Validate(); err != nil {
			return fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	return nil
}

// AssignNestedIDs gives every nested field of t (at any depth, depth
// first, in order) the id next returns. Schemas call it for new columns
// so that nested field ids are unique in the table, as top-level ids are.
func AssignNestedIDs(t *DataType, next func() int) {
	for i := range t.Fields {
		t.Fields[i].ID = next()
		AssignNestedIDs(&t.Fields[i].Type, next)
	}
}

// MaxNestedID is the largest field id among t's nested fields, or -1.
func MaxNestedID(t DataType) int {
	m := -1
	for _, f := range t.Fields {
		m = max(m, f.ID, MaxNestedID(f.Type))
	}
	return m
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
// the same scale and no smaller precision; for ARRAY, MAP and ROW the same
// kind with nested fields matched by id, each readable, a ROW field added
// later reading as NULL). Schema evolution allows exactly the type changes
// this admits.
func ReadableAs(from, to DataType) bool {
	switch {
	case from.Equal(to):
		return true
	case from.Kind == Int && to.Kind == BigInt:
		return true
	case from.Kind == Float && to.Kind == Double:
		return true
	case from.Kind == DecimalKind && to.Kind == DecimalKind:
		return from.Scale == to.Scale && to.Precision >= from.Precision
	case from.IsNested() && to.IsNested():
		return nestedReadableAs(from, to)
	}
	return false
}

// Equal reports whether t and u are the same type, parameters and nested
// fields (names, ids, types and NOT NULL) included.
func (t DataType) Equal(u DataType) bool {
	if t.Kind != u.Kind || t.Precision != u.Precision || t.Scale != u.Scale || len(t.Fields) != len(u.Fields) {
		return false
	}
	for i := range t.Fields {
		a, b := &t.Fields[i], &u.Fields[i]
		if a.ID != b.ID || a.Name != b.Name || a.NotNull != b.NotNull || !a.Type.Equal(b.Type) {
			return false
		}
	}
	return true
}
