package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// TestUpdateAggregationNested: an UPDATE of an aggregation table with
// collect, merge_map, listagg and product columns sets the columns it can
// undo (sum, last_value, DOUBLE product) and leaves the others as they
// were; SET on a function that cannot retract, from a product of 0, or
// on a sum that ignores retractions is refused and changes nothing.
func TestUpdateAggregationNested(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE t (id INT PRIMARY KEY, s BIGINT, tags ARRAY<STRING>, m MAP<STRING, INT>, names STRING, p DOUBLE, pi BIGINT, l STRING, si BIGINT)
		WITH ('merge-engine'='aggregation', 'fields.s.aggregate-function'='sum', 'fields.tags.aggregate-function'='collect',
			'fields.m.aggregate-function'='merge_map', 'fields.names.aggregate-function'='listagg', 'fields.names.list-agg-delimiter'='/',
			'fields.p.aggregate-function'='product', 'fields.pi.aggregate-function'='product', 'fields.l.aggregate-function'='last_value',
			'fields.si.aggregate-function'='sum', 'fields.si.ignore-retract'='true');
		INSERT INTO t VALUES (1, 10, ['a'], MAP {'k': 1}, 'x', 2.0, 3, 'v', 5), (2, 1, NULL, NULL, NULL, 0.0, NULL, NULL, NULL);
		INSERT INTO t VALUES (1, 20, ['b', 'a'], MAP {'k': 2, 'j': 3}, 'y', 4.0, 5, 'w', 6)`)
	const before = "1|30|[a, b, a]|{k=2, j=3}|x/y|8|15|w|11\n2|1|NULL|NULL|NULL|0|NULL|NULL|NULL\n"
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != before {
		t.Fatalf("before: %q", got)
	}
	mustExec(t, e, `UPDATE t SET s = 100, p = 0.5, l = 'z' WHERE id = 1`)
	const after = "1|100|[a, b, a]|{k=2, j=3}|x/y|0.5|15|z|11\n2|1|NULL|NULL|NULL|0|NULL|NULL|NULL\n"
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != after {
		t.Fatalf("after UPDATE:\n%s\nwant\n%s", got, after)
	}
	for sql, want := range map[string]string{
		`UPDATE t SET tags = ['c'] WHERE id = 1`: "folds it with collect",
		`UPDATE t SET m = MAP {} WHERE id = 1`:   "folds it with merge_map",
		`UPDATE t SET names = 'q' WHERE id = 1`:  "folds it with listagg",
		`UPDATE t SET pi = 2 WHERE id = 1`:       "folds it with product",
		`UPDATE t SET p = 3.0 WHERE id = 2`:      "its product is 0",
		`UPDATE t SET p = NULL WHERE id = 1`:     "skips NULL",
		`UPDATE t SET si = 1 WHERE id = 1`:       "ignore-retract=true",
	} {
		err := execErr(t, e, sql)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", sql, err, want)
		}
	}
	if got := query(t, e, `SELECT * FROM t ORDER BY id`); got != after {
		t.Fatalf("a refused UPDATE changed rows:\n%s", got)
	}
}

// TestAggregationNestedDDL: a collection or product function on a column
// of the wrong type, or a misplaced per-column option, is refused by
// CREATE TABLE and ALTER TABLE with one line naming the option.
func TestAggregationNestedDDL(t *testing.T) {
	e, _ := siltEngine(t)
	const ddl = `CREATE TABLE t (id INT PRIMARY KEY, n INT, tags ARRAY<STRING>, m MAP<STRING, INT>, s STRING) WITH ('merge-engine'='aggregation'`
	for sql, want := range map[string]string{
		ddl + `, 'fields.n.aggregate-function'='collect')`:                                    `aggregate function collect does not apply to column "n" of type INT`,
		ddl + `, 'fields.tags.aggregate-function'='merge_map')`:                               `aggregate function merge_map does not apply to column "tags"`,
		ddl + `, 'fields.m.aggregate-function'='listagg')`:                                    `aggregate function listagg does not apply to column "m"`,
		ddl + `, 'fields.s.aggregate-function'='product')`:                                    `aggregate function product does not apply to column "s" of type STRING`,
		ddl + `, 'fields.tags.aggregate-function'='collect', 'fields.tags.distinct'='maybe')`: `fields.tags.distinct: "maybe" is not true or false`,
	} {
		err := execErr(t, e, sql)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line containing %q", sql, err, want)
		}
	}
	mustExec(t, e, ddl+`, 'fields.tags.aggregate-function'='collect', 'fields.s.aggregate-function'='listagg', 'fields.s.list-agg-delimiter'=' | ', 'fields.n.aggregate-function'='product')`)
	// The per-column options decide how existing records were merged, as
	// the function does: they are fixed at CREATE TABLE.
	for sql, want := range map[string]string{
		`ALTER TABLE t SET ('fields.n.aggregate-function' = 'merge_map')`: "option fields.n.aggregate-function cannot be changed after CREATE TABLE",
		`ALTER TABLE t SET ('fields.tags.distinct' = 'true')`:             "option fields.tags.distinct cannot be changed after CREATE TABLE",
		`ALTER TABLE t SET ('fields.s.list-agg-delimiter' = ';')`:         "option fields.s.list-agg-delimiter cannot be changed after CREATE TABLE",
		`ALTER TABLE t SET ('fields.n.ignore-retract' = 'true')`:          "option fields.n.ignore-retract cannot be changed after CREATE TABLE",
		`ALTER TABLE t RESET ('fields.s.list-agg-delimiter')`:             "option fields.s.list-agg-delimiter cannot be changed after CREATE TABLE",
	} {
		err := execErr(t, e, sql)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line containing %q", sql, err, want)
		}
	}
	// Setting an option to the value it already has changes nothing.
	mustExec(t, e, `ALTER TABLE t SET ('fields.tags.distinct' = 'false', 'fields.s.list-agg-delimiter' = ' | ');
		INSERT INTO t VALUES (1, 2, ['a', 'b', 'a'], MAP {'k': 1}, 'x'), (1, 3, ['b', 'c'], NULL, 'y')`)
	if got := query(t, e, `SELECT n, tags, s FROM t`); got != "6|[a, b, a, b, c]|x | y\n" {
		t.Fatalf("after ALTER: %q", got)
	}
}
