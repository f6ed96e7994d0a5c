package query

import (
	"context"
	"encoding/hex"
	"math"
	"slices"
	"strconv"

	"github.com/siltdb/silt/types"
)

// SHOW CREATE TABLE t: the CREATE TABLE statement that re-creates t's
// current schema (columns, types, NOT NULL, DEFAULT, COMMENT, PRIMARY KEY,
// PARTITIONED BY, the table comment and the options that are set).

type showCreateTableStmt struct {
	pos   position
	table tableName
}

func (s *showCreateTableStmt) stmtPos() position { return s.pos }
func (s *showCreateTableStmt) String() string {
	return "SHOW CREATE TABLE " + s.table.String()
}

// parseShowTable reads the SHOW statements about one table, after SHOW:
// CREATE TABLE t and PARTITIONS t. ok is false when neither follows.
func (p *parser) parseShowTable(pos position) (statement, bool, error) {
	switch {
	case p.acceptKw("CREATE"):
		if err := p.expectKw("TABLE"); err != nil {
			return nil, true, err
		}
		n, err := p.tableName()
		return &showCreateTableStmt{pos: pos, table: n}, true, err
	case p.acceptKw("PARTITIONS"):
		p.acceptKw("FROM")
		n, err := p.tableName()
		return &showPartitionsStmt{pos: pos, table: n}, true, err
	}
	return nil, false, nil
}

func (e *Engine) showCreateTable(ctx context.Context, s *showCreateTableStmt) (*Result, error) {
	r, err := e.resolveTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	if r.system != "" {
		return nil, errf(types.ErrInvalid, "SHOW CREATE TABLE: %s is a system table (it has no CREATE TABLE statement)", r)
	}
	text, err := createTableText(r.table, r.schema)
	if err != nil {
		return nil, err
	}
	return &Result{
		Columns: []Column{{"create_statement", types.TString}},
		Rows:    []types.Row{{text}},
		Message: "SHOW CREATE TABLE",
	}, nil
}

// createTableText renders the CREATE TABLE statement of a table named name
// (unqualified, so it re-creates the table in the current database) with
// schema sch.
func createTableText(name string, sch *types.Schema) (string, error) {
	st := &createTableStmt{table: tableName{table: name}, partitionBy: sch.PartitionKeys,
		comment: sch.Comment, hasComment: sch.Comment != ""}
	for _, f := range sch.Fields {
		c := columnDef{name: f.Name, typ: f.Type, notNull: f.NotNull, comment: f.Comment, hasComment: f.Comment != ""}
		if f.Default != nil {
			v, err := f.DefaultValue()
			if err != nil {
				return "", errf(types.ErrCorruption, "table %s: column %q has a bad default %q: %s", name, f.Name, *f.Default, errText(err))
			}
			c.def = defaultLiteralOf(v, f.Type)
		}
		st.columns = append(st.columns, c)
	}
	if len(sch.PrimaryKeys) == 1 {
		st.columns[sch.FieldIndex(sch.PrimaryKeys[0])].primaryKey = true
	} else {
		st.primaryKey = sch.PrimaryKeys
	}
	keys := make([]string, 0, len(sch.Options))
	for k := range sch.Options {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		st.options = append(st.options, tableOption{key: k, value: sch.Options[k]})
	}
	return st.String(), nil
}

// defaultLiteralOf returns the DEFAULT literal that stores v in a column of
// type t (what CREATE TABLE parses back to v).
func defaultLiteralOf(v types.Value, t types.DataType) *literal {
	switch x := v.(type) {
	case nil:
		return &literal{kind: litNull}
	case bool:
		return &literal{kind: litBool, val: x}
	case string:
		return &literal{kind: litString, val: x}
	case []byte:
		return &literal{kind: litBytes, text: hex.EncodeToString(x)}
	case types.Date:
		return &literal{kind: litDate, text: types.FormatValue(x, t)}
	case types.Timestamp:
		return &literal{kind: litTS, text: types.FormatValue(x, t)}
	case types.TimeOfDay, types.TimestampLTZ, types.UUID:
		return &literal{kind: litTyped, typ: t, text: types.FormatValue(x, t)}
	case float32:
		return &literal{kind: litFloat, text: floatLiteral(float64(x), 32)}
	case float64:
		return &literal{kind: litFloat, text: floatLiteral(x, 64)}
	}
	return &literal{kind: litInt, text: types.FormatValue(v, t)} // integers and decimals: the text is all String uses
}

// floatLiteral prints f so that it reads back as a floating-point literal
// (with an exponent, which makes it DOUBLE rather than DECIMAL).
func floatLiteral(f float64, bits int) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, bits) // not expressible as a literal; CREATE TABLE rejects it
	}
	return strconv.FormatFloat(f, 'e', -1, bits)
}
