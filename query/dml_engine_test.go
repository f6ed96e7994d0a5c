package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// An UPDATE of an aggregation table sets the value: the old row is
// retracted first, so SET s = 100 on 30 gives 100, not 130.
func TestUpdateAggregationSets(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id INT PRIMARY KEY, s BIGINT, c BIGINT, l STRING) WITH ('merge-engine'='aggregation',
			'fields.s.aggregate-function'='sum', 'fields.c.aggregate-function'='count', 'fields.l.aggregate-function'='last_value');
		INSERT INTO t VALUES (1, 10, 1, 'a'), (2, 5, 1, 'b');
		INSERT INTO t VALUES (1, 20, 1, 'c')`)
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != "1|30|2|c\n2|5|1|b\n" {
		t.Fatalf("before: %q", got)
	}
	res := mustExec(t, e, `UPDATE t SET s = 100, l = NULL WHERE id = 1`)
	if res[0].Message != "UPDATE 1" {
		t.Errorf("message %q", res[0].Message)
	}
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != "1|100|2|NULL\n2|5|1|b\n" {
		t.Fatalf("after UPDATE: %q, want s=100 and count unchanged", got)
	}
	mustExec(t, e, `UPDATE t SET s = s + 1`)
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != "1|101|2|NULL\n2|6|1|b\n" {
		t.Fatalf("after second UPDATE: %q", got)
	}
	// DELETE removes the row; a later INSERT starts from scratch.
	mustExec(t, e, `DELETE FROM t WHERE id = 1; INSERT INTO t VALUES (1, 7, 1, 'x')`)
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != "1|7|1|x\n2|6|1|b\n" {
		t.Fatalf("after DELETE and INSERT: %q", got)
	}
	for sql, want := range map[string]string{
		`UPDATE t SET c = 5`:          "folds it with count",
		`UPDATE t SET s = NULL`:       "skips NULL",
		`UPDATE t SET s = 1, c = 2`:   "folds it with count",
		`UPDATE t SET l = 'y', c = 1`: "folds it with count",
	} {
		err := execErr(t, e, sql)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "aggregation") && !strings.Contains(err.Error(), "sum") {
			t.Errorf("%s: %v, want %q", sql, err, want)
		}
	}
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != "1|7|1|x\n2|6|1|b\n" {
		t.Fatalf("a refused UPDATE changed rows: %q", got)
	}
}

// On partial-update, SET c = NULL would be read as "no change": refused.
func TestUpdatePartialUpdateNull(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id INT PRIMARY KEY, a STRING, b STRING) WITH ('merge-engine'='partial-update');
		INSERT INTO t VALUES (1, 'x', 'y'), (2, NULL, 'z')`)
	err := execErr(t, e, `UPDATE t SET a = NULL WHERE id = 1`)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "partial-update") || !strings.Contains(err.Error(), "NULL") {
		t.Fatalf("got %v, want a refusal naming partial-update", err)
	}
	// Already NULL: nothing changes, nothing to refuse.
	mustExec(t, e, `UPDATE t SET a = NULL WHERE id = 2; UPDATE t SET b = 'w' WHERE id = 1`)
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != "1|x|w\n2|NULL|z\n" {
		t.Fatalf("got %q", got)
	}
	mustExec(t, e, `DELETE FROM t WHERE id = 1`)
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != "2|NULL|z\n" {
		t.Fatalf("after DELETE: %q", got)
	}
}

// first-row ignores later versions and deletions: UPDATE and DELETE are
// refused rather than reporting counts and changing nothing.
func TestFirstRowRefusesUpdateDelete(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id INT PRIMARY KEY, a STRING) WITH ('merge-engine'='first-row');
		INSERT INTO t VALUES (1, 'x')`)
	for _, sql := range []string{`UPDATE t SET a = 'y'`, `DELETE FROM t WHERE id = 1`} {
		err := execErr(t, e, sql)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "merge-engine=first-row") {
			t.Errorf("%s: %v, want a refusal naming first-row", sql, err)
		}
	}
	if got := query(t, e, `SELECT * FROM t`); got != "1|x\n" {
		t.Fatalf("got %q", got)
	}
}

// VARCHAR(n) and CHAR(n) columns are refused: silt would accept longer
// values, so the declared length would be a lie.
func TestVarcharLengthRefused(t *testing.T) {
	e, _ := siltEngine(t)
	for _, sql := range []string{
		`CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(3))`,
		`CREATE TABLE t (id INT PRIMARY KEY, name char(1))`,
	} {
		err := execErr(t, e, sql)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `column "name"`) || !strings.Contains(err.Error(), "does not enforce string lengths") {
			t.Errorf("%s: %v", sql, err)
		}
	}
	mustExec(t, e, `CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR, c CHAR)`)
	for _, sql := range []string{
		`ALTER TABLE t ADD COLUMN x VARCHAR(10)`,
		`ALTER TABLE t ALTER COLUMN name TYPE VARCHAR(10)`,
	} {
		if err := execErr(t, e, sql); !strings.Contains(err.Error(), "does not enforce string lengths") {
			t.Errorf("%s: %v", sql, err)
		}
	}
	// A cast keeps accepting a length (a cast to STRING, as in DuckDB).
	if got := query(t, e, `SELECT CAST('abcdef' AS VARCHAR(2))`); got != "abcdef\n" {
		t.Errorf("cast: %q", got)
	}
}
