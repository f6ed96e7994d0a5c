package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// Schema evolution from Debezium schema changes (--schema-evolution
// add-columns). The debezium-json format compares the Kafka Connect schema
// envelope of each record with the table: fields the table lacks are
// reported as a *NewColumnsError; the sink commits its open batch, adds the
// columns through its SchemaEvolver (catalog.AlterTable with IF NOT
// EXISTS, so the table's compatibility mode still applies), reopens the
// table on the new schema and decodes the record again. Fields whose type
// the column cannot hold, or a missing key field, make the record
// schema-incompatible. See docs/adr/0009.

// Schema evolution modes (FormatOptions.SchemaEvolution).
const (
	EvolutionNone       = "none"
	EvolutionAddColumns = "add-columns"
)

// Rules a schema-incompatible record can violate (header silt.dlq.rule).
// Rules from the table's compatibility mode come from the catalog.
const (
	RuleUnknownField    = "unknown field"
	RuleTypeChange      = "type change"
	RuleKeyDropped      = "key field dropped"
	RuleUnsupportedType = "unsupported type"
	RuleNotNull         = "NOT NULL column without a value"
	RuleAlterRefused    = "add column refused"
)

// NewColumn is a column the sink asks to add: nullable, at the end.
type NewColumn struct {
	Name    string
	Type    types.DataType
	Comment string
}

// NewColumnsError is what the debezium-json format (with add-columns)
// returns, wrapped in a *RecordError with ReasonSchema, for a record whose
// schema envelope has fields the table lacks. A sink with a SchemaEvolver
// adds them and decodes the record again; without one the record is
// schema-incompatible.
type NewColumnsError struct {
	Columns []NewColumn
}

func (e *NewColumnsError) Error() string {
	parts := make([]string, len(e.Columns))
	for i, c := range e.Columns {
		parts[i] = c.Name + " " + c.Type.String()
	}
	return "the record's schema has fields the table lacks: " + strings.Join(parts, ", ")
}

// key identifies the requested change (for caching refusals).
func (e *NewColumnsError) key() string { return e.Error() }

// SchemaEvolver changes the schema of a sink's table; cmd/silt implements
// it with catalog.AlterTable. The consumer declares the interface, so the
// stream package does not depend on the catalog.
type SchemaEvolver interface {
	// AddColumns adds cols to the table's latest schema as nullable
	// columns at the end, in one schema version, skipping columns that
	// already exist (IF NOT EXISTS). An error wrapping types.ErrInvalid
	// means the table refuses the change (its structural rules or its
	// schema.compatibility mode): the record goes to the DLQ. Other errors
	// fail the batch, which is replayed.
	AddColumns(ctx context.Context, cols []NewColumn) error
}

// SchemaBinder is an optional capability of a Format: the same format for
// another version of the table's schema. The sink uses it to follow ALTERs
// (its own and, at batch boundaries, external ones). A format without it
// keeps decoding with the schema it was built for, and the sink keeps
// writing that schema.
type SchemaBinder interface {
	ForSchema(s *types.Schema) (Format, error)
}

// ruleViolation is implemented by errors that name the violated rule and
// column (catalog.CompatibilityError).
type ruleViolation interface {
	Violation() (column, rule string)
}

// schemaRecordError is a schema-incompatible record naming column and rule.
func schemaRecordError(column, rule, format string, args ...any) error {
	return &RecordError{Reason: ReasonSchema, Column: column, Rule: rule, Err: fmt.Errorf(format, args...)}
}

// envelope is what a Kafka Connect schema envelope says about a record:
// the hints for value conversion and, with add-columns, the columns to add
// or why the record does not fit.
type envelope struct {
	hints   map[string]fieldHint
	newCols []NewColumn
	problem error // a *RecordError (ReasonSchema); nil: fits
}

// analyzeEnvelope parses a Connect schema for a table. With evolve, it
// also maps the fields the table lacks to new columns and checks that the
// existing columns can hold the field types and that no key field is
// missing. A schema that does not parse gives no hints and no findings.
func (c *rowCodec) analyzeEnvelope(raw json.RawMessage, evolve bool) *envelope {
	env := &envelope{hints: map[string]fieldHint{}}
	var s connectSchema
	if json.Unmarshal(raw, &s) != nil {
		return env
	}
	seen := map[string]bool{}
	for _, img := range s.Fields {
		if img.Field != "before" && img.Field != "after" {
			continue
		}
		present := map[string]bool{}
		for _, fld := range img.Fields {
			lname := strings.ToLower(fld.Field)
			present[lname] = true
			if h := hintOf(fld); h != (fieldHint{}) {
				env.hints[lname] = h
			}
			if !evolve || env.problem != nil || seen[lname] {
				continue
			}
			seen[lname] = true
			mapped, err := connectType(fld)
			idx, exists := c.names[lname]
			switch {
			case exists && err == nil:
				if col := c.schema.Fields[idx]; !holds(col.Type, mapped) {
					env.problem = schemaRecordError(col.Name, RuleTypeChange,
						"field %q is %s (Connect %s) in the record's schema, but column %q is %s, which cannot hold it", fld.Field, mapped, describeConnect(fld), col.Name, col.Type)
				} else {
					env.newCols = nestedAdds(col.Type, mapped, col.Name, env.newCols)
				}
			case exists:
				// An unmappable type for an existing column: the values
				// decide (wrong-type when they do not convert).
			case err != nil:
				env.problem = schemaRecordError(fld.Field, RuleUnsupportedType, "new field %q: %v", fld.Field, err)
			default:
				if verr := types.ValidateIdentifier("column", fld.Field); verr != nil {
					env.problem = schemaRecordError(fld.Field, RuleAlterRefused, "new field %q cannot be a column: %v", fld.Field, verr)
					continue
				}
				env.newCols = append(env.newCols, NewColumn{Name: fld.Field, Type: mapped})
			}
		}
		if evolve && env.problem == nil && len(img.Fields) > 0 {
			for _, k := range c.keyIdx {
				name := c.schema.Fields[k].Name
				if !present[strings.ToLower(name)] {
					env.problem = schemaRecordError(name, RuleKeyDropped,
						"the %s struct of the record's schema has no field for primary-key column %q", img.Field, name)
					break
				}
			}
		}
	}
	if env.problem != nil {
		env.newCols = nil
	}
	return env
}

func describeConnect(fld connectSchema) string {
	if fld.Name != "" {
		return fld.Type + " " + fld.Name
	}
	return fld.Type
}

// Connect logical type names.
const (
	logicalDecimal = "org.apache.kafka.connect.data.Decimal"
)

// connectType maps a Kafka Connect field schema to the silt type a new
// column gets: logical types first (dates, timestamps, decimals whose
// precision is at most 18), then the base type; arrays, maps and structs
// map to ARRAY, MAP and ROW (evolve_nested.go). Debezium's
// VariableScaleDecimal has no silt type.
func connectType(fld connectSchema) (types.DataType, error) { return connectTypeAt(fld, 0) }

// connectTypeAt is connectType of a field depth levels inside a column.
func connectTypeAt(fld connectSchema, depth int) (types.DataType, error) {
	if t, ok := connectTypeTemporal(fld); ok {
		return t, nil
	}
	switch fld.Name {
	case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date":
		return types.TDate, nil
	case "io.debezium.time.Timestamp", "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp",
		"org.apache.kafka.connect.data.Timestamp":
		return types.TTimestamp, nil
	case logicalDecimal:
		scale, err := strconv.Atoi(fld.Parameters["scale"])
		if err != nil {
			return types.DataType{}, fmt.Errorf("%w: Connect Decimal without a scale parameter", types.ErrInvalid)
		}
		ps, ok := fld.Parameters["connect.decimal.precision"]
		if !ok {
			return types.DataType{}, fmt.Errorf("%w: Connect Decimal without connect.decimal.precision (silt needs a fixed precision of at most %d; create the column as DECIMAL(p,s) first)", types.ErrInvalid, types.MaxDecimalPrecision)
		}
		prec, err := strconv.Atoi(ps)
		if err != nil {
			return types.DataType{}, fmt.Errorf("%w: Connect Decimal precision %q", types.ErrInvalid, ps)
		}
		t := types.TDecimal(prec, scale)
		if err := t.Validate(); err != nil {
			return types.DataType{}, err
		}
		return t, nil
	case logicalVariableScaleDecimal:
		// Its values go into an existing DECIMAL column (exactly, or to
		// the dead-letter queue); a new column needs a chosen type.
		return types.DataType{}, fmt.Errorf("%w: %s has no fixed precision and scale; create the column as DECIMAL(p,s) (p up to %d) first", types.ErrInvalid, fld.Name, types.MaxDecimalPrecision)
	}
	switch fld.Type {
	case "int8", "int16", "int32":
		return types.TInt, nil
	case "int64":
		return types.TBigInt, nil
	case "float", "float32":
		return types.TFloat, nil
	case "double", "float64":
		return types.TDouble, nil
	case "boolean":
		return types.TBoolean, nil
	case "string":
		return types.TString, nil
	case "bytes":
		return types.TBytes, nil
	}
	if t, ok, err := connectTypeNested(fld, depth); ok {
		return t, err
	}
	return types.DataType{}, fmt.Errorf("%w: Connect type %q has no silt column type", types.ErrInvalid, fld.Type)
}

// holds reports whether a column of type col takes the values of a field
// whose Connect type maps to src, converted the way the row codec does:
// the same type, a wider one, or one of the codec's documented
// conversions (epoch numbers and ISO text into DATE and TIMESTAMP, text
// into DECIMAL). Anything else — a narrower type, a larger decimal scale,
// text into a number column, a number into a STRING — is a type change.
func holds(col, src types.DataType) bool {
	if col.Equal(src) {
		return true
	}
	if ok, handled := holdsTemporal(col, src); handled {
		return ok
	}
	if col.IsNested() || src.IsNested() {
		return holdsNested(col, src)
	}
	switch col.Kind {
	case types.TimestampKind:
		return src.Kind == types.BigInt || src.Kind == types.String // epoch numbers (timestamp-unit), ISO-8601
	case types.DateKind:
		return src.Kind == types.Int || src.Kind == types.String // days since 1970, YYYY-MM-DD
	case types.BigInt:
		// Also epoch numbers of Connect timestamps (BIGINT time columns).
		return src.Kind == types.Int || src.Kind == types.TimestampKind
	case types.Int:
		return src.Kind == types.DateKind // days since 1970
	case types.Double:
		return src.Kind == types.Float || src.Kind == types.Int
	case types.DecimalKind:
		switch src.Kind {
		case types.DecimalKind:
			return src.Scale <= col.Scale && src.Precision-src.Scale <= col.Precision-col.Scale
		case types.Int:
			return col.Precision-col.Scale >= 10
		case types.String:
			return true // exact decimal text (decimal.handling.mode=string)
		}
	case types.Bytes:
		return src.Kind == types.String // base64 text (binary.handling.mode=base64)
	}
	return false
}

// sinkEvolution is the sink's schema-evolution state.
type sinkEvolution struct {
	gen     int64            // bumped whenever the table's schema is swapped
	refused map[string]error // requested column sets refused under gen
}

// evolve handles a record whose schema has fields the table lacks: it
// commits the open batch (so every commit's rows fit its schema), adds
// the columns, and reopens the table on the new schema. It returns nil
// when the table now has the columns, a *RecordError when the table
// refuses them (the record goes to the DLQ), or errBatchDropped when the
// batch failed and the sink rewound (the record is replayed later); a
// fatal error ends Run.
func (s *Sink) evolve(ctx context.Context, nc *NewColumnsError) error {
	if s.o.Evolver == nil {
		return schemaRecordError(nc.Columns[0].Name, RuleUnknownField, "%v (schema evolution is off: --schema-evolution none)", nc)
	}
	if err := s.ev.refused[nc.key()]; err != nil {
		return err
	}
	resets := s.resets
	if err := s.commit(ctx, true); err != nil {
		return err
	}
	if s.resets != resets {
		return errBatchDropped
	}
	cols := make([]NewColumn, len(nc.Columns))
	for i, c := range nc.Columns {
		c.Comment = "added by silt sink " + s.user + " from a Debezium schema change"
		cols[i] = c
	}
	err := s.o.Evolver.AddColumns(ctx, cols)
	if err != nil && errors.Is(err, types.ErrInvalid) {
		column, rule := cols[0].Name, RuleAlterRefused
		var rv ruleViolation
		if errors.As(err, &rv) {
			column, rule = rv.Violation()
		}
		s.o.Logf("sink %s: the table refuses the columns of a Debezium schema change: %v", s.user, err)
		return s.refuse(nc, schemaRecordError(column, rule, "adding %v: %w", nc, err))
	}
	if err == nil {
		err = s.refreshSchema(ctx, true)
	}
	if err != nil {
		if ferr := s.fail(ctx, fmt.Errorf("add columns: %w", err), true); ferr != nil {
			return ferr
		}
		return errBatchDropped
	}
	s.m.update(func(m *MetricsSnapshot) { m.ColumnsAdded += int64(len(cols)) })
	return nil
}

// refuse remembers that the table refuses the columns of nc (until its
// schema changes), so later records of the same schema are dead-lettered
// without another commit and ALTER; it returns rerr.
func (s *Sink) refuse(nc *NewColumnsError, rerr error) error {
	if s.ev.refused == nil {
		s.ev.refused = map[string]error{}
	}
	s.ev.refused[nc.key()] = rerr
	return rerr
}

// errBatchDropped says the open batch was dropped and the sink rewound.
var errBatchDropped = errors.New("batch dropped")

// refreshSchema reopens the table on its latest schema when that changed
// (an ALTER by this sink or anyone else) and the format can follow it.
// Only called at batch boundaries: the writer holds no rows. Without
// force it checks at most once per second.
func (s *Sink) refreshSchema(ctx context.Context, force bool) error {
	now := s.o.Now()
	if !force && now.Sub(s.lastSchemaCheck) < schemaCheckEvery {
		return nil
	}
	s.lastSchemaCheck = now
	binder, ok := s.o.Format.(SchemaBinder)
	if !ok {
		return nil
	}
	nt, err := s.t.AtLatestSchema(ctx)
	if err != nil {
		return err
	}
	if nt.Schema().ID == s.t.Schema().ID {
		return nil
	}
	f, err := binder.ForSchema(nt.Schema())
	if err != nil {
		return err
	}
	old := s.w
	s.o.Logf("sink %s: table %s is at schema %d (was %d): writing with it", s.user, s.t.Name(), nt.Schema().ID, s.t.Schema().ID)
	s.t, s.w, s.o.Format = nt, nt.NewWriter(s.user), f
	s.ev.gen++
	s.ev.refused = nil
	closeWriter(old)
	return nil
}

// schemaCheckEvery bounds how often a sink looks for external ALTERs
// (one LIST and one GET of the schema directory).
const schemaCheckEvery = time.Second
