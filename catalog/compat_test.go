package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

func strp(s string) *string { return &s }

// evoBase is schema 0 of the compatibility tests: key (dt, id), partitioned
// by dt, and value columns of each kind the rules distinguish.
func evoBase(mode Mode) *types.Schema {
	s := &types.Schema{
		ID: 0,
		Fields: []types.Field{
			{ID: 0, Name: "dt", Type: types.TDate, NotNull: true},
			{ID: 1, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 2, Name: "name", Type: types.TString},
			{ID: 3, Name: "qty", Type: types.TInt},
			{ID: 4, Name: "price", Type: types.TDecimal(8, 2)},
			{ID: 5, Name: "score", Type: types.TFloat},
			{ID: 6, Name: "code", Type: types.TString, NotNull: true},
			{ID: 7, Name: "tag", Type: types.TString, NotNull: true, Default: strp("x")},
		},
		PrimaryKeys:    []string{"dt", "id"},
		PartitionKeys:  []string{"dt"},
		HighestFieldID: 7,
		Options:        map[string]string{"bucket": "2"},
	}
	if mode != "" {
		s.Options[table.OptSchemaCompatibility] = string(mode)
	}
	return s
}

var allModes = []Mode{Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive, None}

// violation is the message of a compatibility violation found between
// schema 0 and schema 1 of the matrix test.
func violation(mode Mode, rule, column string, reader, writer int64, detail string) string {
	return fmt.Sprintf("schema.compatibility=%s: rule %q violated by column %q: readers of schema %d cannot read data written with schema %d: %s",
		mode, rule, column, reader, writer, detail)
}

const (
	detailMissing  = "that data has no value for the column (give it a DEFAULT or make it nullable)"
	detailNullable = "the column is nullable there, so it may hold NULLs"
)

// TestCompatibilityMatrix applies every kind of change under every mode to
// schema 0 and checks the exact outcome. A case sets structural (an error
// in every mode) or the violations found in each direction: bwd (readers
// of schema 1 reading schema-0 data) and fwd (readers of schema 0 reading
// schema-1 data), given as (rule, column, detail).
func TestCompatibilityMatrix(t *testing.T) {
	type dir struct{ rule, col, detail string }
	add := func(name string, typ types.DataType, notNull bool, def *string) SchemaChange {
		return SchemaChange{Kind: AddColumn, Column: name, Type: typ, NotNull: notNull, Default: def}
	}
	cases := []struct {
		name       string
		changes    []SchemaChange
		structural string
		noop       bool
		bwd, fwd   *dir
	}{
		{name: "add nullable column", changes: []SchemaChange{add("note", types.TString, false, nil)}},
		{name: "add nullable column with default", changes: []SchemaChange{add("note", types.TInt, false, strp("7"))}},
		{name: "add NOT NULL column with default", changes: []SchemaChange{add("note", types.TString, true, strp("n/a"))}},
		{name: "add NOT NULL column without default", changes: []SchemaChange{add("note", types.TString, true, nil)},
			bwd: &dir{RuleMissingNotNull, "note", detailMissing}},
		{name: "add column FIRST", changes: []SchemaChange{{Kind: AddColumn, Column: "a", Type: types.TBoolean, Position: ColumnPosition{First: true}}}},
		{name: "add column AFTER", changes: []SchemaChange{{Kind: AddColumn, Column: "a", Type: types.TBoolean, Position: ColumnPosition{After: "ID"}}}},
		{name: "add column AFTER unknown", changes: []SchemaChange{{Kind: AddColumn, Column: "a", Type: types.TBoolean, Position: ColumnPosition{After: "nope"}}},
			structural: `invalid: column "a": AFTER column "nope" does not exist`},
		{name: "add existing column", changes: []SchemaChange{add("NAME", types.TString, false, nil)},
			structural: `invalid: column "NAME" already exists`},
		{name: "add existing column IF NOT EXISTS", changes: []SchemaChange{{Kind: AddColumn, Column: "name", Type: types.TInt, IfNotExists: true}}, noop: true},
		{name: "add column with bad default", changes: []SchemaChange{add("n", types.TInt, true, strp("abc"))},
			structural: `column "n": DEFAULT 'abc': invalid: bad INT literal "abc"`},
		{name: "add column with bad name", changes: []SchemaChange{add("a/b", types.TInt, false, nil)},
			structural: `invalid: column name "a/b": character '/' not allowed (letters, digits, '_' only)`},
		{name: "add column with reserved name", changes: []SchemaChange{add("_seq", types.TInt, false, nil)},
			structural: `invalid: column name "_seq": names starting with '_' are reserved`},
		{name: "rename value column", changes: []SchemaChange{{Kind: RenameColumn, Column: "name", NewName: "title"}}},
		{name: "rename key column", changes: []SchemaChange{{Kind: RenameColumn, Column: "id", NewName: "order_id"}}},
		{name: "rename partition column", changes: []SchemaChange{{Kind: RenameColumn, Column: "dt", NewName: "day"}},
			structural: `invalid: cannot rename partition column "dt": partition paths name the column (dt=…), so new rows of a key would land in another partition than its existing rows`},
		{name: "rename to existing column", changes: []SchemaChange{{Kind: RenameColumn, Column: "name", NewName: "Code"}},
			structural: `invalid: cannot rename column "name" to "Code": column "code" already exists`},
		{name: "rename unknown column", changes: []SchemaChange{{Kind: RenameColumn, Column: "nope", NewName: "x"}},
			structural: `invalid: column "nope" does not exist`},
		{name: "drop nullable column", changes: []SchemaChange{{Kind: DropColumn, Column: "name"}}},
		{name: "drop NOT NULL column with default", changes: []SchemaChange{{Kind: DropColumn, Column: "tag"}}},
		{name: "drop NOT NULL column without default", changes: []SchemaChange{{Kind: DropColumn, Column: "code"}},
			fwd: &dir{RuleMissingNotNull, "code", detailMissing}},
		{name: "drop key column", changes: []SchemaChange{{Kind: DropColumn, Column: "id"}},
			structural: `invalid: cannot drop primary key column "id": rows are identified and bucketed by their key`},
		{name: "drop partition column", changes: []SchemaChange{{Kind: DropColumn, Column: "dt"}},
			structural: `invalid: cannot drop partition column "dt": rows are stored by partition and key`},
		{name: "drop unknown column", changes: []SchemaChange{{Kind: DropColumn, Column: "nope"}},
			structural: `invalid: column "nope" does not exist`},
		{name: "drop unknown column IF EXISTS", changes: []SchemaChange{{Kind: DropColumn, Column: "nope", IfExists: true}}, noop: true},
		{name: "widen INT to BIGINT", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "qty", Type: types.TBigInt}},
			fwd: &dir{RuleType, "qty", "it stores BIGINT, which cannot be read as INT"}},
		{name: "widen FLOAT to DOUBLE", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "score", Type: types.TDouble}},
			fwd: &dir{RuleType, "score", "it stores DOUBLE, which cannot be read as FLOAT"}},
		{name: "widen DECIMAL precision", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "price", Type: types.TDecimal(12, 2)}},
			fwd: &dir{RuleType, "price", "it stores DECIMAL(12,2), which cannot be read as DECIMAL(8,2)"}},
		{name: "widen DECIMAL across 18 digits", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "price", Type: types.TDecimal(30, 2)}},
			fwd: &dir{RuleType, "price", "it stores DECIMAL(30,2), which cannot be read as DECIMAL(8,2)"}},
		{name: "same type", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "qty", Type: types.TInt}}, noop: true},
		{name: "DECIMAL scale change", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "price", Type: types.TDecimal(10, 3)}},
			structural: `invalid: cannot change column "price" from DECIMAL(8,2) to DECIMAL(10,3): data files are never rewritten and readers only widen INT→BIGINT, FLOAT→DOUBLE and DECIMAL(p,s)→DECIMAL(p',s) with p' ≥ p`},
		{name: "DECIMAL precision down", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "price", Type: types.TDecimal(6, 2)}},
			structural: `invalid: cannot change column "price" from DECIMAL(8,2) to DECIMAL(6,2): data files are never rewritten and readers only widen INT→BIGINT, FLOAT→DOUBLE and DECIMAL(p,s)→DECIMAL(p',s) with p' ≥ p`},
		{name: "INT to DECIMAL", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "qty", Type: types.TDecimal(12, 0)}},
			structural: `invalid: cannot change column "qty" from INT to DECIMAL(12,0): data files are never rewritten and readers only widen INT→BIGINT, FLOAT→DOUBLE and DECIMAL(p,s)→DECIMAL(p',s) with p' ≥ p`},
		{name: "STRING to INT", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "name", Type: types.TInt}},
			structural: `invalid: cannot change column "name" from STRING to INT: data files are never rewritten and readers only widen INT→BIGINT, FLOAT→DOUBLE and DECIMAL(p,s)→DECIMAL(p',s) with p' ≥ p`},
		{name: "key column type", changes: []SchemaChange{{Kind: UpdateColumnType, Column: "dt", Type: types.TTimestamp}},
			structural: `invalid: cannot change the type of primary key column "dt" from DATE to TIMESTAMP: the key encoding and the bucket hash depend on it`},
		{name: "SET NOT NULL", changes: []SchemaChange{{Kind: UpdateColumnNullability, Column: "name", NotNull: true}},
			bwd: &dir{RuleNullable, "name", detailNullable}},
		{name: "DROP NOT NULL", changes: []SchemaChange{{Kind: UpdateColumnNullability, Column: "code"}},
			fwd: &dir{RuleNullable, "code", detailNullable}},
		{name: "DROP NOT NULL on key", changes: []SchemaChange{{Kind: UpdateColumnNullability, Column: "id"}},
			structural: `invalid: cannot DROP NOT NULL on primary key column "id": key columns are always NOT NULL`},
		{name: "SET NOT NULL unchanged", changes: []SchemaChange{{Kind: UpdateColumnNullability, Column: "code", NotNull: true}}, noop: true},
		{name: "comment", changes: []SchemaChange{{Kind: UpdateColumnComment, Column: "qty", Comment: "units"}}},
		{name: "SET mutable option", changes: []SchemaChange{{Kind: SetOptions, Options: map[string]string{"target-file-size": "64mb"}}}},
		{name: "SET bucket", changes: []SchemaChange{{Kind: SetOptions, Options: map[string]string{"bucket": "4"}}},
			structural: `invalid: option bucket cannot be changed after CREATE TABLE: a key's bucket is hash(key) mod bucket, so existing rows would be in the wrong bucket`},
		{name: "SET bucket unchanged", changes: []SchemaChange{{Kind: SetOptions, Options: map[string]string{"bucket": "2"}}}, noop: true},
		{name: "SET merge-engine", changes: []SchemaChange{{Kind: SetOptions, Options: map[string]string{"merge-engine": "first-row"}}},
			structural: `invalid: option merge-engine cannot be changed after CREATE TABLE: existing records were merged with it`},
		{name: "SET unknown option", changes: []SchemaChange{{Kind: SetOptions, Options: map[string]string{"bucket-key": "id"}}},
			structural: `invalid: unknown table option "bucket-key"`},
		{name: "SET bad option value", changes: []SchemaChange{{Kind: SetOptions, Options: map[string]string{"target-file-size": "huge"}}},
			structural: `invalid: option target-file-size: bad size "huge" (e.g. 128mb)`},
		{name: "SET bad compatibility mode", changes: []SchemaChange{{Kind: SetOptions, Options: map[string]string{"schema.compatibility": "sideways"}}},
			structural: `invalid: option schema.compatibility: unknown mode "sideways" (want backward, backward_transitive, forward, forward_transitive, full, full_transitive, none)`},
		{name: "RESET option", changes: []SchemaChange{{Kind: ResetOptions, Keys: []string{"bucket", "target-file-size"}}},
			structural: `invalid: option bucket cannot be changed after CREATE TABLE: a key's bucket is hash(key) mod bucket, so existing rows would be in the wrong bucket`},
		{name: "RESET unset option", changes: []SchemaChange{{Kind: ResetOptions, Keys: []string{"target-file-size"}}}, noop: true},
		{name: "drop and re-add a column (new field id)", changes: []SchemaChange{{Kind: DropColumn, Column: "qty"}, add("qty", types.TString, false, nil)}},
		{name: "several changes, one violating", changes: []SchemaChange{add("note", types.TString, false, nil), {Kind: UpdateColumnNullability, Column: "note", NotNull: true}},
			bwd: &dir{RuleMissingNotNull, "note", detailMissing}},
	}
	for _, c := range cases {
		for _, mode := range allModes {
			t.Run(c.name+"/"+string(mode), func(t *testing.T) {
				base := evoBase(mode)
				want := ""
				switch {
				case c.structural != "":
					want = c.structural
				case mode.backward() && c.bwd != nil:
					want = violation(mode, c.bwd.rule, c.bwd.col, 1, 0, c.bwd.detail)
				case mode.forward() && c.fwd != nil:
					want = violation(mode, c.fwd.rule, c.fwd.col, 0, 1, c.fwd.detail)
				}
				got, err := PlanAlter([]*types.Schema{base}, c.changes)
				if want != "" {
					if err == nil || err.Error() != want {
						t.Fatalf("got  %v\nwant %s", err, want)
					}
					if !errors.Is(err, types.ErrInvalid) {
						t.Errorf("error does not wrap ErrInvalid: %v", err)
					}
					var ce *CompatibilityError
					if isCompat := errors.As(err, &ce); isCompat != (c.structural == "") || isCompat != errors.Is(err, ErrIncompatible) {
						t.Errorf("CompatibilityError %v, ErrIncompatible %v, structural %q", isCompat, errors.Is(err, ErrIncompatible), c.structural)
					}
					return
				}
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if c.noop != (got == base) {
					t.Fatalf("no-op %v, want %v", got == base, c.noop)
				}
				if c.noop {
					return
				}
				if got.ID != 1 || got.Change != describeChanges(c.changes) {
					t.Errorf("id %d change %q", got.ID, got.Change)
				}
				if err := CheckReadable([]*types.Schema{base}, got); err != nil {
					t.Errorf("allowed change breaks the structural rule: %v", err)
				}
			})
		}
	}
}

// TestEvolveDetails checks what allowed changes produce.
func TestEvolveDetails(t *testing.T) {
	base := evoBase("")
	base.Options["sequence.field"] = "qty"
	evolve := func(cs ...SchemaChange) *types.Schema {
		t.Helper()
		s, err := EvolveSchema(base, cs)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	names := func(s *types.Schema) string {
		var out []string
		for _, f := range s.Fields {
			out = append(out, fmt.Sprintf("%d:%s", f.ID, f.Name))
		}
		return strings.Join(out, " ")
	}
	s := evolve(SchemaChange{Kind: AddColumn, Column: "a", Type: types.TInt, Position: ColumnPosition{First: true}},
		SchemaChange{Kind: AddColumn, Column: "b", Type: types.TInt, Position: ColumnPosition{After: "id"}},
		SchemaChange{Kind: AddColumn, Column: "c", Type: types.TDecimal(5, 2), Default: strp(" 1.5")})
	if got, want := names(s), "8:a 0:dt 1:id 9:b 2:name 3:qty 4:price 5:score 6:code 7:tag 10:c"; got != want {
		t.Errorf("fields %s, want %s", got, want)
	}
	if s.HighestFieldID != 10 || *s.Fields[10].Default != "1.50" {
		t.Errorf("highest %d, default %q (want canonical 1.50)", s.HighestFieldID, *s.Fields[10].Default)
	}
	// Renames carry the key, sequence.field and per-column options along.
	s = evolve(SchemaChange{Kind: RenameColumn, Column: "ID", NewName: "order_id"}, SchemaChange{Kind: RenameColumn, Column: "qty", NewName: "n"})
	if fmt.Sprintf("%v %s", s.PrimaryKeys, s.Options["sequence.field"]) != "[dt order_id] n" {
		t.Errorf("after rename: keys %v, options %v", s.PrimaryKeys, s.Options)
	}
	// sequence.field cannot be dropped.
	if _, err := EvolveSchema(base, []SchemaChange{{Kind: DropColumn, Column: "qty"}}); err == nil ||
		err.Error() != `invalid: cannot drop column "qty": it is the table's sequence.field` {
		t.Errorf("drop sequence.field: %v", err)
	}
	// Aggregate functions follow renames and go with dropped columns.
	agg := evoBase("")
	agg.Options["merge-engine"] = "aggregation"
	agg.Options["fields.qty.aggregate-function"] = "sum"
	agg.Options["fields.score.aggregate-function"] = "max"
	s, err := EvolveSchema(agg, []SchemaChange{{Kind: RenameColumn, Column: "qty", NewName: "units"}, {Kind: DropColumn, Column: "score"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := optionsString(s.Options); got != "bucket=2 fields.units.aggregate-function=sum merge-engine=aggregation" {
		t.Errorf("options %s", got)
	}
	if _, err := EvolveSchema(agg, []SchemaChange{{Kind: SetOptions, Options: map[string]string{"fields.qty.aggregate-function": "max"}}}); err == nil ||
		!strings.Contains(err.Error(), "option fields.qty.aggregate-function cannot be changed after CREATE TABLE") {
		t.Errorf("change aggregate function: %v", err)
	}
	if _, err := EvolveSchema(base, nil); err == nil {
		t.Error("no changes accepted")
	}
}

func optionsString(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// TestCompatibilityTransitive shows the difference between a mode and its
// transitive variant: a history made under mode none, then a harmless
// change checked against the previous version only or against all.
func TestCompatibilityTransitive(t *testing.T) {
	v0 := evoBase("")
	mustEvolve := func(s *types.Schema, cs ...SchemaChange) *types.Schema {
		t.Helper()
		n, err := EvolveSchema(s, cs)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// v1: name became NOT NULL and code was dropped (allowed under none).
	v1 := mustEvolve(v0, SchemaChange{Kind: UpdateColumnNullability, Column: "name", NotNull: true}, SchemaChange{Kind: DropColumn, Column: "code"})
	v2 := mustEvolve(v1, SchemaChange{Kind: AddColumn, Column: "note", Type: types.TString})
	hist := []*types.Schema{v0, v1}
	for _, c := range []struct {
		mode Mode
		want string
	}{
		{Backward, ""},
		{Forward, ""},
		{Full, ""},
		{None, ""},
		{BackwardTransitive, violation(BackwardTransitive, RuleNullable, "name", 2, 0, detailNullable)},
		{ForwardTransitive, violation(ForwardTransitive, RuleMissingNotNull, "code", 0, 2, detailMissing)},
		{FullTransitive, violation(FullTransitive, RuleNullable, "name", 2, 0, detailNullable)},
	} {
		err := CheckCompatibility(c.mode, hist, v2)
		if got := fmt.Sprint(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
			t.Errorf("%s: got %v\nwant %s", c.mode, err, c.want)
		}
	}
	if err := CheckCompatibility("sideways", hist, v2); err == nil {
		t.Error("unknown mode accepted")
	}
}

// TestModesMatchTableOptions: the modes ParseMode accepts are exactly the
// values table.ParseOptions accepts for schema.compatibility.
func TestModesMatchTableOptions(t *testing.T) {
	if len(table.SchemaCompatibilityModes()) != len(allModes) {
		t.Fatalf("table knows %v, catalog %v", table.SchemaCompatibilityModes(), allModes)
	}
	for _, m := range table.SchemaCompatibilityModes() {
		if _, err := ParseMode(m); err != nil {
			t.Errorf("ParseMode(%q): %v", m, err)
		}
	}
	for _, m := range allModes {
		if _, err := table.ParseOptions(map[string]string{table.OptSchemaCompatibility: string(m)}); err != nil {
			t.Errorf("ParseOptions(%s): %v", m, err)
		}
	}
	if m, _ := ModeOf(evoBase("")); m != Backward {
		t.Errorf("default mode %s", m)
	}
}
