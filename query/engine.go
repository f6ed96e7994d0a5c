package query

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/types"
)

// EngineOptions configures an Engine. The zero value is usable.
type EngineOptions struct {
	// CurrentDB is the database of unqualified table names. Default
	// "default". USE changes it for the engine.
	CurrentDB string
	// Now is the clock for CURRENT_DATE, CURRENT_TIMESTAMP and NOW().
	// Default time.Now.
	Now func() time.Time
	// Rand is the random source of gen_random_uuid() (UUID()). Default
	// crypto/rand.Reader; the engine serializes its reads, so a seeded
	// source that is not safe for concurrent use works.
	Rand io.Reader
	// WriteFile writes the file of COPY … TO (the whole content at once);
	// nil refuses COPY … TO, e.g. where SQL comes from remote clients.
	WriteFile func(ctx context.Context, path string, data []byte) error
	// OpenFile opens the file of COPY … FROM for reading (a local file
	// also implementing io.ReaderAt and io.Seeker is read in place by the
	// Parquet reader); nil refuses COPY … FROM.
	OpenFile func(ctx context.Context, path string) (io.ReadCloser, error)
}

// Engine runs SQL statements against a Catalog. It is one session: USE
// changes its current database. Methods are safe for concurrent use, but
// statements of concurrent callers interleave.
type Engine struct {
	cat       Catalog
	now       func() time.Time
	rand      io.Reader // lockedReader of EngineOptions.Rand
	writeFile func(ctx context.Context, path string, data []byte) error
	openFile  func(ctx context.Context, path string) (io.ReadCloser, error)
	// rowEngine runs every SELECT on the row path instead of the
	// vectorized pipeline (vec_exec.go): the reference the differential
	// test compares the pipeline with.
	rowEngine bool

	mu sync.Mutex
	db string
}

// NewEngine returns an engine over cat.
func NewEngine(cat Catalog, opts EngineOptions) *Engine {
	if opts.CurrentDB == "" {
		opts.CurrentDB = "default"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &Engine{cat: cat, now: opts.Now, rand: &lockedReader{r: opts.Rand}, writeFile: opts.WriteFile, openFile: opts.OpenFile, db: opts.CurrentDB}
}

// CurrentDB returns the database unqualified table names refer to.
func (e *Engine) CurrentDB() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.db
}

func (e *Engine) setCurrentDB(db string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.db = db
}

// Column is one result column.
type Column struct {
	Name string
	Type types.DataType
}

// Result is the outcome of one statement.
type Result struct {
	// Columns and Rows are set for statements that return rows (SELECT,
	// SHOW, DESCRIBE); values have the Go types of types.Value.
	Columns []Column
	Rows    []types.Row
	// Message is the command tag: "SELECT 3", "INSERT 2", "CREATE TABLE".
	Message string
	// SnapshotID is the snapshot a write committed, or the snapshot a
	// SELECT read (0 when none).
	SnapshotID int64
	// stream, when set (results of ExecStream), yields the rows instead of
	// Rows; it can be ranged over once. Message then holds just "SELECT".
	stream iter.Seq2[types.Row, error]
	// batches, when set (a streaming result of the vectorized pipeline),
	// yields the result as Arrow batches of the columns; stream then
	// adapts them to rows. Either is ranged over once.
	batches iter.Seq2[arrow.Record, error]
}

// Exec parses sql (one or more statements separated by ';') and runs the
// statements in order. If the script does not parse, nothing runs. A
// failing statement stops the script; the statements before it stay
// committed and their results are returned with the error, which names
// the statement ("statement 2: …") when the script has several.
func (e *Engine) Exec(ctx context.Context, sql string) ([]*Result, error) {
	stmts, bad, err := parseScript(ctx, sql)
	if err != nil {
		pieces, complete := SplitStatements(sql)
		if n := len(pieces); n > 1 || (n == 1 && !complete) {
			err = fmt.Errorf("statement %d: %w", bad, err)
		}
		return nil, err
	}
	var out []*Result
	for _, ps := range stmts {
		r, err := e.run(ctx, ps.stmt, false)
		if err != nil {
			if len(stmts) > 1 {
				err = fmt.Errorf("statement %d: %w", ps.index, err)
			}
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ExecStatement runs exactly one statement (a trailing ';' is allowed).
func (e *Engine) ExecStatement(ctx context.Context, sql string) (*Result, error) {
	stmts, _, err := parseScript(ctx, sql)
	if err != nil {
		return nil, err
	}
	switch len(stmts) {
	case 0:
		return nil, errf(types.ErrInvalid, "empty statement")
	case 1:
		return e.run(ctx, stmts[0].stmt, false)
	}
	return nil, errf(types.ErrInvalid, "expected one statement, got %d", len(stmts))
}

// run executes one statement; with stream a plain SELECT (see
// streamable) returns a Result whose rows are produced while it is read.
func (e *Engine) run(ctx context.Context, s statement, stream bool) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch x := s.(type) {
	case *selectStmt:
		return e.execSelect(ctx, x, stream)
	case *setOpStmt, *valuesStmt, *withStmt:
		return e.execQuery(ctx, x, stream)
	case *insertStmt:
		return e.execInsert(ctx, x)
	case *updateStmt:
		return e.execUpdate(ctx, x)
	case *deleteStmt:
		return e.execDelete(ctx, x)
	case *createDatabaseStmt:
		return e.createDatabase(ctx, x)
	case *dropDatabaseStmt:
		return e.dropDatabase(ctx, x)
	case *showDatabasesStmt:
		return e.showDatabases(ctx)
	case *useStmt:
		return e.use(ctx, x)
	case *showTablesStmt:
		return e.showTables(ctx, x)
	case *describeStmt:
		return e.describe(ctx, x)
	case *createTableStmt:
		return e.createTable(ctx, x)
	case *dropTableStmt:
		return e.dropTable(ctx, x)
	case *alterTableStmt:
		return e.alterTable(ctx, x)
	case *historyStmt:
		return e.execHistory(ctx, x)
	case *showCreateTableStmt:
		return e.showCreateTable(ctx, x)
	case *showPartitionsStmt:
		return e.showPartitions(ctx, x)
	case *truncateStmt:
		return e.truncate(ctx, x)
	case *explainStmt:
		return e.explain(ctx, x)
	case *ctasStmt:
		return e.createTableAs(ctx, x)
	case *copyStmt:
		return e.execCopy(ctx, x)
	case *copyFromStmt:
		return e.execCopyFrom(ctx, x)
	}
	return nil, errf(types.ErrInvalid, "internal: unhandled statement %T", s)
}
