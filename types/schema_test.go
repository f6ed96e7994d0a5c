package types

import (
	"reflect"
	"strings"
	"testing"
)

// testSchema is a valid schema: key (dt, id), partitioned by dt.
func testSchema() *Schema {
	return &Schema{
		ID: 1,
		Fields: []Field{
			{ID: 1, Name: "dt", Type: TDate, NotNull: true},
			{ID: 2, Name: "id", Type: TBigInt},
			{ID: 3, Name: "name", Type: TString, NotNull: true},
			{ID: 5, Name: "price", Type: TDecimal(6, 2)},
			{ID: 4, Name: "score", Type: TDouble},
		},
		PrimaryKeys:    []string{"dt", "id"},
		PartitionKeys:  []string{"dt"},
		HighestFieldID: 5,
	}
}

func TestSchemaValidate(t *testing.T) {
	if err := testSchema().Validate(); err != nil {
		t.Fatalf("valid schema: %v", err)
	}
	setName := func(name string) func(*Schema) {
		return func(s *Schema) { s.Fields[2].Name = name }
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Schema)
		err    string // "" for valid
	}{
		{"no partitions", func(s *Schema) { s.PartitionKeys = nil }, ""},
		{"partition equals key", func(s *Schema) { s.PartitionKeys = []string{"ID", "dt"} }, ""},
		{"case-insensitive key names", func(s *Schema) { s.PrimaryKeys = []string{"DT", "Id"} }, ""},
		{"128-char name", setName(strings.Repeat("n", 128)), ""},
		{"underscore inside", setName("a_b_"), ""},
		{"string key", func(s *Schema) { s.PrimaryKeys = []string{"name"}; s.PartitionKeys = nil }, ""},
		{"decimal key", func(s *Schema) { s.PrimaryKeys = []string{"price"}; s.PartitionKeys = nil }, ""},
		{"field id 0", func(s *Schema) { s.Fields[0].ID = 0 }, ""},

		{"no columns", func(s *Schema) { s.Fields = nil }, "table has no columns"},
		{"duplicate name", setName("id"), `duplicate column "id"`},
		{"duplicate name case-insensitive", setName("ID"), `duplicate column "ID"`},
		{"reserved prefix", setName("_seq"), `column name "_seq": names starting with '_' are reserved`},
		{"reserved underscore only", setName("_"), "reserved"},
		{"dot-dot path", setName("../x"), `column name "../x": character '.' not allowed`},
		{"slash", setName("a/b"), `character '/' not allowed`},
		{"backslash", setName(`a\b`), `character '\\' not allowed`},
		{"dollar", setName("a$b"), `character '$' not allowed`},
		{"dot", setName("a.b"), `character '.' not allowed`},
		{"dash in column", setName("a-b"), `character '-' not allowed`},
		{"space", setName("a b"), `character ' ' not allowed`},
		{"NUL", setName("a\x00b"), `character '\x00' not allowed`},
		{"newline", setName("a\nb"), `not allowed`},
		{"non-ASCII letter", setName("café"), `character 'é' not allowed`},
		{"invalid UTF-8", setName("a\xffb"), `not allowed`},
		{"leading digit", setName("1abc"), `column name "1abc" must not start with a digit`},
		{"empty name", setName(""), "empty column name"},
		{"129-char name", setName(strings.Repeat("n", 129)), "column name longer than 128 characters"},
		{"duplicate field id", func(s *Schema) { s.Fields[1].ID = 1 }, "duplicate or negative field id 1"},
		{"negative field id", func(s *Schema) { s.Fields[1].ID = -2 }, "duplicate or negative field id -2"},
		{"field id above highest", func(s *Schema) { s.HighestFieldID = 4 }, "field id 5 above highest field id 4"},
		{"bad type", func(s *Schema) { s.Fields[3].Type = TDecimal(39, 2) }, `column "price": invalid: DECIMAL precision 39`},
		{"unknown type", func(s *Schema) { s.Fields[3].Type = DataType{} }, `column "price": invalid: unknown column type 0`},
		{"no primary key", func(s *Schema) { s.PrimaryKeys = nil; s.PartitionKeys = nil }, "a PRIMARY KEY is required"},
		{"missing key column", func(s *Schema) { s.PrimaryKeys = []string{"dt", "nope"} }, `primary key column "nope" does not exist`},
		{"key listed twice", func(s *Schema) { s.PrimaryKeys = []string{"dt", "id", "ID"} }, `primary key column "ID" listed twice`},
		{"double key", func(s *Schema) { s.PrimaryKeys = []string{"dt", "score"} }, `primary key column "score" cannot be DOUBLE`},
		{"float key", func(s *Schema) { s.Fields[4].Type = TFloat; s.PrimaryKeys = []string{"score"}; s.PartitionKeys = nil },
			`primary key column "score" cannot be FLOAT`},
		{"partition not in key", func(s *Schema) { s.PartitionKeys = []string{"name"} }, `partition column "name" must be part of the primary key`},
		{"partition does not exist", func(s *Schema) { s.PartitionKeys = []string{"nope"} }, `partition column "nope" must be part of the primary key`},
		{"partition listed twice", func(s *Schema) { s.PartitionKeys = []string{"dt", "DT"} }, `partition column "DT" listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSchema()
			tc.mutate(s)
			err := s.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			checkErr(t, err, ErrInvalid, tc.err)
		})
	}
}

func TestValidateIdentifier(t *testing.T) {
	for _, tc := range []struct {
		what, name string
		err        string
	}{
		{"table", "orders", ""},
		{"table", "order-items_2", ""},
		{"database", "_staging", ""},
		{"column", "Col9", ""},
		{"table", "-x", ""},
		{"column", "a-b", `column name "a-b": character '-' not allowed`},
		{"table", "..", `table name "..": character '.' not allowed`},
		{"table", "../x", "character '.' not allowed"},
		{"database", "a/b", "character '/' not allowed"},
		{"table", "a$b", "character '$' not allowed"},
		{"table", "9lives", `table name "9lives" must not start with a digit`},
		{"database", "", "empty database name"},
		{"table", strings.Repeat("t", 129), "table name longer than 128 characters"},
		{"table", "a\tb", "not allowed"},
		{"table", "a\x7fb", "not allowed"},
	} {
		err := ValidateIdentifier(tc.what, tc.name)
		if tc.err == "" {
			if err != nil {
				t.Errorf("ValidateIdentifier(%q, %q) = %v", tc.what, tc.name, err)
			}
			continue
		}
		t.Run(tc.name, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
	}
}

func TestSchemaCheckRow(t *testing.T) {
	s := testSchema()
	for _, tc := range []struct {
		name string
		row  Row
		err  string
	}{
		{"ok", Row{Date(1), int64(2), "n", Decimal(12345), 1.5}, ""},
		{"nullable nulls", Row{Date(1), int64(2), "n", nil, nil}, ""},
		{"too few", Row{Date(1), int64(2), "n", nil}, "row has 4 values, table has 5 columns"},
		{"too many", Row{Date(1), int64(2), "n", nil, nil, nil}, "row has 6 values, table has 5 columns"},
		{"empty", Row{}, "row has 0 values, table has 5 columns"},
		{"not null", Row{Date(1), int64(2), nil, nil, nil}, `column "name" is NOT NULL`},
		{"not null key", Row{nil, int64(2), "n", nil, nil}, `column "dt" is NOT NULL`},
		{"missing key", Row{Date(1), nil, "n", nil, nil}, `missing value for primary key column "id"`},
		{"wrong Go type", Row{Date(1), 2, "n", nil, nil}, `column "id": invalid: value of Go type int is not a BIGINT`},
		{"decimal too wide", Row{Date(1), int64(2), "n", Decimal(1000000), nil}, `column "price": invalid: value 10000.00 does not fit DECIMAL(6,2)`},
	} {
		err := s.CheckRow(tc.row)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: CheckRow: %v", tc.name, err)
			}
			continue
		}
		t.Run(tc.name, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
	}
}

func TestSchemaCoerceRow(t *testing.T) {
	s := testSchema()
	for _, tc := range []struct {
		name string
		row  Row
		want Row
		err  string
	}{
		{"exact", Row{Date(1), int64(2), "n", Decimal(5), 1.5}, Row{Date(1), int64(2), "n", Decimal(5), 1.5}, ""},
		{"loose", Row{"2024-02-29", 7, []byte("n"), "1.5", 2}, Row{Date(19782), int64(7), "n", Decimal(150), 2.0}, ""},
		{"nulls", Row{19782, uint8(1), "n", nil, nil}, Row{Date(19782), int64(1), "n", nil, nil}, ""},
		{"arity", Row{Date(1)}, nil, "row has 1 values, table has 5 columns"},
		{"bad value names column", Row{Date(1), "x", "n", nil, nil}, nil, `column "id": invalid: bad BIGINT literal "x"`},
		{"bad combo names column", Row{Date(1), int64(1), "n", true, nil}, nil, `column "price": invalid: cannot use true as DECIMAL(6,2)`},
		{"decimal overflow", Row{Date(1), int64(1), "n", 10000, nil}, nil, `column "price": invalid: DECIMAL literal "10000" does not fit DECIMAL(6,2)`},
		{"not null", Row{Date(1), int64(1), nil, nil, nil}, nil, `column "name" is NOT NULL`},
		{"missing key", Row{Date(1), nil, "n", nil, nil}, nil, `missing value for primary key column "id"`},
	} {
		got, err := s.CoerceRow(tc.row)
		if tc.err != "" {
			t.Run(tc.name, func(t *testing.T) { checkErr(t, err, ErrInvalid, tc.err) })
			if got != nil {
				t.Errorf("%s: CoerceRow returned %v with an error", tc.name, got)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: CoerceRow = %v, %v; want %v", tc.name, got, err, tc.want)
			continue
		}
		for i := range got {
			if !sameValue(got[i], tc.want[i]) {
				t.Errorf("%s: CoerceRow[%d] = %#v, want %#v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

func TestSchemaIndexes(t *testing.T) {
	for _, tc := range []struct {
		name              string
		pk, parts         []string
		key, part, bucket []int
	}{
		{"partitioned", []string{"dt", "id"}, []string{"dt"}, []int{0, 1}, []int{0}, []int{1}},
		{"no partitions", []string{"dt", "id"}, nil, []int{0, 1}, []int{}, []int{0, 1}},
		{"key order kept", []string{"name", "dt", "id"}, []string{"DT"}, []int{2, 0, 1}, []int{0}, []int{2, 1}},
		{"key is partition", []string{"dt"}, []string{"dt"}, []int{0}, []int{0}, []int{0}},
		{"key is partition, case and order", []string{"id", "dt"}, []string{"DT", "ID"}, []int{1, 0}, []int{0, 1}, []int{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSchema()
			s.PrimaryKeys, s.PartitionKeys = tc.pk, tc.parts
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := s.KeyIndexes(); !reflect.DeepEqual(got, tc.key) {
				t.Errorf("KeyIndexes = %v, want %v", got, tc.key)
			}
			if got := s.PartitionIndexes(); !reflect.DeepEqual(got, tc.part) {
				t.Errorf("PartitionIndexes = %v, want %v", got, tc.part)
			}
			if got := s.BucketKeyIndexes(); !reflect.DeepEqual(got, tc.bucket) {
				t.Errorf("BucketKeyIndexes = %v, want %v", got, tc.bucket)
			}
		})
	}
	s := testSchema()
	for name, want := range map[string]int{"dt": 0, "DT": 0, "Price": 3, "score": 4, "nope": -1, "": -1} {
		if got := s.FieldIndex(name); got != want {
			t.Errorf("FieldIndex(%q) = %d, want %d", name, got, want)
		}
	}
	for id, want := range map[int]int{1: 0, 5: 3, 4: 4, 6: -1, 0: -1} {
		if got := s.FieldByID(id); got != want {
			t.Errorf("FieldByID(%d) = %d, want %d", id, got, want)
		}
	}
}
