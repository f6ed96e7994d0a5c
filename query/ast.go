package query

import (
	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/types"
)

// The syntax tree. Nodes carry the position of their first token so that
// later phases can point at the offending part of a statement. String()
// (format.go) prints a node back as canonical SQL.

// statement is one parsed SQL statement.
type statement interface {
	stmtPos() position
	String() string
}

// tableName is [db.]table; db == "" means the current database. Names are
// lower-cased (identifiers are case-insensitive).
type tableName struct {
	db, table string
	pos       position
}

type createDatabaseStmt struct {
	pos         position
	name        string
	ifNotExists bool
}

type dropDatabaseStmt struct {
	pos      position
	name     string
	ifExists bool
	cascade  bool
}

type showDatabasesStmt struct{ pos position }

type useStmt struct {
	pos  position
	name string
}

type showTablesStmt struct {
	pos position
	db  string // "" = current
}

type describeStmt struct {
	pos   position
	table tableName
}

type columnDef struct {
	pos        position
	name       string
	typ        types.DataType
	notNull    bool
	primaryKey bool
	comment    string
	hasComment bool
	def        *literal // DEFAULT literal, nil if none
}

type tableOption struct{ key, value string }

type createTableStmt struct {
	pos         position
	table       tableName
	ifNotExists bool
	columns     []columnDef
	primaryKey  []string // table-level PRIMARY KEY (a, b)
	pkPos       position
	partitionBy []string
	comment     string
	hasComment  bool
	options     []tableOption
}

type dropTableStmt struct {
	pos      position
	table    tableName
	ifExists bool
}

// alterTableStmt is ALTER TABLE t action, action, … (one schema version).
type alterTableStmt struct {
	pos     position
	table   tableName
	actions []alterAction
}

// alterAction is one action of ALTER TABLE; kind selects the fields used.
type alterAction struct {
	pos         position
	kind        catalog.ChangeKind
	column      string    // target column (all column actions)
	newName     string    // RENAME COLUMN
	col         columnDef // ADD COLUMN (col.name == column)
	typ         types.DataType
	notNull     bool   // ALTER COLUMN SET NOT NULL / DROP NOT NULL
	comment     string // ALTER COLUMN COMMENT
	ifNotExists bool   // ADD COLUMN IF NOT EXISTS
	ifExists    bool   // DROP COLUMN IF EXISTS
	first       bool   // ADD … FIRST
	after       string // ADD … AFTER col
	options     []tableOption
	keys        []string // RESET
}

type identAt struct {
	name string
	pos  position
}

type insertStmt struct {
	pos     position
	table   tableName
	columns []identAt // nil = all columns in schema order
	rows    [][]expr  // VALUES rows, or nil when query is set
	query   *selectStmt
	// overwrite: INSERT OVERWRITE (overwrite.go); partition is its static
	// PARTITION clause.
	overwrite bool
	partition []partitionValue
}

type deleteStmt struct {
	pos   position
	table tableName
	where expr
}

type assignment struct {
	col   identAt
	value expr
}

type updateStmt struct {
	pos   position
	table tableName
	sets  []assignment
	where expr
}

// timeTravel is VERSION AS OF / TIMESTAMP AS OF / FOR SYSTEM_TIME AS OF.
type timeTravel struct {
	pos       position
	version   bool  // VERSION AS OF; else TIMESTAMP AS OF
	versionID int64 // VERSION AS OF <integer>
	tag       string
	isTag     bool // VERSION AS OF '<tag>'
	at        expr // TIMESTAMP AS OF <expr>
	// currentSchema: … WITH CURRENT SCHEMA reads the snapshot with the
	// table's current schema instead of the one it was written with.
	currentSchema bool
}

type tableRef struct {
	name  tableName
	alias string
	asOf  *timeTravel
	fn    *tableFunc // a table function (table_changes); name is its name
	// A FROM item that is not a named table (parse_from.go): a join of two
	// items, or a derived table (a parenthesised query, VALUES, WITH) whose
	// columns colAliases may rename.
	join       *joinRef
	query      statement
	colAliases []string
	unnest     *unnestRef // UNNEST(…) (unnest.go); colAliases rename its columns
}

type selectItem struct {
	pos   position
	expr  expr // nil for *
	star  bool
	qual  string // t.* qualifier ("" for bare *)
	alias string
}

type orderItem struct {
	expr  expr
	desc  bool
	nulls int // 0 default, 1 NULLS FIRST, 2 NULLS LAST
}

type selectStmt struct {
	pos      position
	distinct bool
	items    []selectItem
	from     *tableRef // nil: SELECT without FROM; a join tree or derived table otherwise
	where    expr
	groupBy  []expr
	having   expr
	orderBy  []orderItem
	limit    int64 // -1 = none
	offset   int64
}

func (s *createDatabaseStmt) stmtPos() position { return s.pos }
func (s *dropDatabaseStmt) stmtPos() position   { return s.pos }
func (s *showDatabasesStmt) stmtPos() position  { return s.pos }
func (s *useStmt) stmtPos() position            { return s.pos }
func (s *showTablesStmt) stmtPos() position     { return s.pos }
func (s *describeStmt) stmtPos() position       { return s.pos }
func (s *createTableStmt) stmtPos() position    { return s.pos }
func (s *dropTableStmt) stmtPos() position      { return s.pos }
func (s *alterTableStmt) stmtPos() position     { return s.pos }
func (s *insertStmt) stmtPos() position         { return s.pos }
func (s *deleteStmt) stmtPos() position         { return s.pos }
func (s *updateStmt) stmtPos() position         { return s.pos }
func (s *selectStmt) stmtPos() position         { return s.pos }

// expr is an expression node.
type expr interface {
	exprPos() position
	String() string
}

type litKind uint8

const (
	litNull litKind = iota
	litBool
	litInt    // integer literal: int64
	litDec    // decimal literal: types.Decimal with typ's scale
	litFloat  // literal with exponent: float64
	litString // 'text'
	litDate   // DATE '…'
	litTS     // TIMESTAMP '…'
	litBytes  // X'…'
	litTyped  // TIME '…', TIMESTAMPTZ '…', UUID '…': typ's keyword, then text
)

// literal is a constant written in the statement. val is already converted
// to the Go type of typ (typ is the zero DataType for NULL).
type literal struct {
	pos  position
	kind litKind
	val  types.Value
	typ  types.DataType
	text string // as written (for messages and output column names)
}

// columnRef is [qualifier.]name.
type columnRef struct {
	pos  position
	qual string // table name or alias, "" if unqualified
	name string
}

type unaryExpr struct {
	pos position
	op  string // "-", "+", "NOT"
	x   expr
}

// binaryExpr covers arithmetic (+ - * / %), || , comparisons and AND/OR.
type binaryExpr struct {
	pos  position
	op   string
	l, r expr
}

type inExpr struct {
	pos  position
	x    expr
	list []expr
	not  bool
}

type betweenExpr struct {
	pos       position
	x, lo, hi expr
	not       bool
}

type isNullExpr struct {
	pos position
	x   expr
	not bool
}

type likeExpr struct {
	pos        position
	x, pattern expr
	not        bool
}

type castExpr struct {
	pos position
	x   expr
	typ types.DataType
}

// funcCall is a scalar or aggregate function call. name is upper-case.
type funcCall struct {
	pos      position
	name     string
	args     []expr
	star     bool // COUNT(*)
	distinct bool
	filter   expr        // agg(…) FILTER (WHERE filter); nil if none
	order    []orderItem // STRING_AGG(x, sep ORDER BY …)
	over     *windowSpec // f(…) OVER (…): a window function; nil if none
}

type whenClause struct{ cond, result expr }

// caseExpr is CASE [operand] WHEN … THEN … [ELSE …] END.
type caseExpr struct {
	pos     position
	operand expr // nil for a searched CASE
	whens   []whenClause
	els     expr
}

func (e *literal) exprPos() position     { return e.pos }
func (e *columnRef) exprPos() position   { return e.pos }
func (e *unaryExpr) exprPos() position   { return e.pos }
func (e *binaryExpr) exprPos() position  { return e.pos }
func (e *inExpr) exprPos() position      { return e.pos }
func (e *betweenExpr) exprPos() position { return e.pos }
func (e *isNullExpr) exprPos() position  { return e.pos }
func (e *likeExpr) exprPos() position    { return e.pos }
func (e *castExpr) exprPos() position    { return e.pos }
func (e *funcCall) exprPos() position    { return e.pos }
func (e *caseExpr) exprPos() position    { return e.pos }
