package stream

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/siltdb/silt/types"
)

// Change is one changelog row decoded from a Kafka record.
type Change struct {
	Kind types.RowKind
	// Row holds values of the table schema's Go types, in schema order. For
	// -U and -D rows only the primary-key columns are required.
	Row types.Row
}

// Format decodes the Kafka records of one topic into changelog rows of one
// table. The sink loop only sees this interface, so a new format (Avro with
// a schema registry, Canal, Maxwell) is a new implementation, not a change
// to the loop. Implementations must be deterministic (the same bytes always
// give the same changes: a replayed commit is recognised by its offsets),
// safe for concurrent use (the sink decodes a poll on several goroutines)
// and must never panic on bad input.
type Format interface {
	// Decode appends the changes carried by one record (key and value are
	// the raw Kafka bytes; a nil value is a tombstone) to dst. A record
	// that carries no change, such as a Debezium tombstone, appends
	// nothing. A record that cannot be applied returns an error wrapping a
	// *RecordError that names the reason; dst is then returned unchanged.
	Decode(dst []Change, key, value []byte) ([]Change, error)
}

// FormatOptions tune the built-in formats.
type FormatOptions struct {
	// UnknownFields says what to do with a JSON field that is not a column
	// of the table: "ignore" (default) or "reject" (the record is bad,
	// reason schema-incompatible).
	UnknownFields string
	// TimestampUnit is the unit of a JSON number in a TIMESTAMP,
	// TIMESTAMP_LTZ or TIME column: "ms" (default: Debezium's Timestamp
	// and Kafka Connect's logical types), "us" or "ns". Strings are
	// parsed as ISO-8601 (TIME: HH:MM:SS[.ffffff]). A Debezium schema
	// envelope names the unit per field and overrides this.
	TimestampUnit string
	// SchemaEvolution is "none" (default) or "add-columns": then
	// debezium-json compares each record's schema envelope with the table
	// and reports fields the table lacks (*NewColumnsError), field types a
	// column cannot hold and missing key fields (schema-incompatible).
	// Records without the envelope carry no types: for them add-columns
	// behaves like none. The other formats accept only none.
	SchemaEvolution string
}

// Normalize checks the options and fills defaults.
func (o FormatOptions) Normalize() (FormatOptions, error) {
	switch o.UnknownFields {
	case "":
		o.UnknownFields = "ignore"
	case "ignore", "reject":
	default:
		return o, fmt.Errorf("%w: unknown-fields %q (want ignore or reject)", types.ErrInvalid, o.UnknownFields)
	}
	switch o.TimestampUnit {
	case "":
		o.TimestampUnit = "ms"
	case "ms", "us", "ns":
	default:
		return o, fmt.Errorf("%w: timestamp-unit %q (want ms, us or ns)", types.ErrInvalid, o.TimestampUnit)
	}
	switch o.SchemaEvolution {
	case "":
		o.SchemaEvolution = EvolutionNone
	case EvolutionNone, EvolutionAddColumns:
	default:
		return o, fmt.Errorf("%w: schema-evolution %q (want add-columns or none)", types.ErrInvalid, o.SchemaEvolution)
	}
	return o, nil
}

// FormatFactory builds a Format for a table schema.
type FormatFactory func(schema *types.Schema, opts FormatOptions) (Format, error)

// Formats returns the built-in decoders by name. It returns a new map on
// every call (there is no global registry): a program that adds formats
// builds its own map or passes a Format to the sink directly.
func Formats() map[string]FormatFactory {
	return map[string]FormatFactory{
		"debezium-json": newDebeziumJSON,
		"upsert-json":   newUpsertJSON,
		"json":          newAppendJSON,
	}
}

// FormatNames lists the built-in decoder names, sorted.
func FormatNames() []string {
	var out []string
	for n := range Formats() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NewFormat builds the built-in decoder called name.
func NewFormat(name string, schema *types.Schema, opts FormatOptions) (Format, error) {
	f, ok := Formats()[name]
	if !ok {
		return nil, fmt.Errorf("%w: unknown format %q (want %s)", types.ErrInvalid, name, strings.Join(FormatNames(), ", "))
	}
	if err := schema.Validate(); err != nil {
		return nil, err
	}
	opts, err := opts.Normalize()
	if err != nil {
		return nil, err
	}
	return f(schema, opts)
}

// Reason classifies a bad record. Each reason has its own DLQ counter.
type Reason string

// The reasons a record is bad.
const (
	// ReasonUnparseable: not JSON, not an object, or a broken envelope
	// (e.g. a Debezium op that is not c/u/d/r).
	ReasonUnparseable Reason = "unparseable"
	// ReasonWrongType: a value cannot be converted to its column's type.
	ReasonWrongType Reason = "wrong-type"
	// ReasonMissingKey: a primary-key column is missing or null.
	ReasonMissingKey Reason = "missing-key"
	// ReasonSchema: the record does not fit the table: an unknown field
	// (with unknown-fields=reject), NULL in a NOT NULL column, or a Kafka
	// key that disagrees with the value.
	ReasonSchema Reason = "schema-incompatible"
)

// Reasons lists every reason, for metrics.
func Reasons() []Reason {
	return []Reason{ReasonUnparseable, ReasonWrongType, ReasonMissingKey, ReasonSchema}
}

// ErrBadRecord is the sentinel of every *RecordError.
var ErrBadRecord = errors.New("bad record")

// RecordError says why a record cannot be applied.
type RecordError struct {
	Reason Reason
	// Column and Rule name the column and the violated rule of a
	// schema-incompatible record, when known (DLQ headers silt.dlq.column
	// and silt.dlq.rule).
	Column, Rule string
	Err          error
}

func (e *RecordError) Error() string { return string(e.Reason) + ": " + e.Err.Error() }

// Unwrap returns the underlying error and ErrBadRecord.
func (e *RecordError) Unwrap() []error { return []error{ErrBadRecord, e.Err} }

func badRecord(r Reason, format string, args ...any) error {
	return &RecordError{Reason: r, Err: fmt.Errorf(format, args...)}
}

// ReasonOf returns the reason of a bad-record error, or "" for other errors.
func ReasonOf(err error) Reason {
	var re *RecordError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}
