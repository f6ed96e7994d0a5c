package types

import (
	"fmt"
	"strings"
	"unicode"
)

// Field is one column. ID is stable for the life of the table: renames and
// reorders keep it, and data files refer to columns by it.
type Field struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Type    DataType `json:"type"`
	NotNull bool     `json:"notNull,omitempty"`
	Comment string   `json:"comment,omitempty"`
	// Default, when set, is the column's default in text form (parsed with
	// ParseText and the column type). Rows of data files written before the
	// column existed read it instead of NULL, and INSERTs that omit the
	// column write it. nil means no default (NULL).
	Default *string `json:"default,omitempty"`
}

// DefaultValue returns the parsed default of the column, or nil (NULL) when
// it has none.
func (f *Field) DefaultValue() (Value, error) {
	if f.Default == nil {
		return nil, nil
	}
	v, err := ParseText(*f.Default, f.Type)
	if err != nil {
		return nil, fmt.Errorf("column %q: DEFAULT %q: %w", f.Name, *f.Default, err)
	}
	return v, nil
}

// Schema is one immutable version of a table's schema.
type Schema struct {
	ID             int64             `json:"id"`
	Fields         []Field           `json:"fields"`
	PrimaryKeys    []string          `json:"primaryKeys"`
	PartitionKeys  []string          `json:"partitionKeys,omitempty"`
	Options        map[string]string `json:"options,omitempty"`
	HighestFieldID int               `json:"highestFieldId"`
	Comment        string            `json:"comment,omitempty"`
	TimeMillis     int64             `json:"timeMillis,omitempty"`
	// Change describes the change that produced this version (as SQL, e.g.
	// "ADD COLUMN note STRING"); "" for versions written before it existed.
	Change string `json:"change,omitempty"`
}

// FieldIndex returns the position of the named column (case-insensitive), or -1.
func (s *Schema) FieldIndex(name string) int {
	for i, f := range s.Fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// FieldByID returns the position of the column with the field id, or -1.
func (s *Schema) FieldByID(id int) int {
	for i, f := range s.Fields {
		if f.ID == id {
			return i
		}
	}
	return -1
}

// KeyIndexes returns the positions of the primary-key columns in key order.
func (s *Schema) KeyIndexes() []int { return s.indexes(s.PrimaryKeys) }

// PartitionIndexes returns the positions of the partition columns.
func (s *Schema) PartitionIndexes() []int { return s.indexes(s.PartitionKeys) }

// BucketKeyIndexes returns the key columns that are not partition columns:
// the bucket of a row is the hash of these within its partition.
func (s *Schema) BucketKeyIndexes() []int {
	var out []int
	for _, k := range s.PrimaryKeys {
		part := false
		for _, p := range s.PartitionKeys {
			if strings.EqualFold(k, p) {
				part = true
			}
		}
		if !part {
			out = append(out, s.FieldIndex(k))
		}
	}
	if len(out) == 0 { // key == partition: hash the whole key
		return s.KeyIndexes()
	}
	return out
}

func (s *Schema) indexes(names []string) []int {
	out := make([]int, len(names))
	for i, n := range names {
		out[i] = s.FieldIndex(n)
	}
	return out
}

// Validate checks structural rules: unique names and ids, valid identifiers
// and types, a non-empty primary key of existing NOT NULL-able columns, and
// partition keys that are a subset of the primary key.
func (s *Schema) Validate() error {
	if len(s.Fields) == 0 {
		return fmt.Errorf("%w: table has no columns", ErrInvalid)
	}
	names := map[string]bool{}
	ids := map[int]bool{}
	for _, f := range s.Fields {
		if err := ValidateIdentifier("column", f.Name); err != nil {
			return err
		}
		if strings.HasPrefix(f.Name, "_") {
			return fmt.Errorf("%w: column name %q: names starting with '_' are reserved", ErrInvalid, f.Name)
		}
		ln := strings.ToLower(f.Name)
		if names[ln] {
			return fmt.Errorf("%w: duplicate column %q", ErrInvalid, f.Name)
		}
		names[ln] = true
		if ids[f.ID] || f.ID < 0 {
			return fmt.Errorf("%w: duplicate or negative field id %d", ErrInvalid, f.ID)
		}
		ids[f.ID] = true
		if f.ID > s.HighestFieldID {
			return fmt.Errorf("%w: field id %d above highest field id %d", ErrInvalid, f.ID, s.HighestFieldID)
		}
		if err := f.Type.Validate(); err != nil {
			return fmt.Errorf("column %q: %w", f.Name, err)
		}
		if err := nestedIDs(f.Type, ids, s.HighestFieldID); err != nil {
			return fmt.Errorf("column %q: %w", f.Name, err)
		}
		if _, err := f.DefaultValue(); err != nil {
			return err
		}
	}
	if len(s.PrimaryKeys) == 0 {
		return fmt.Errorf("%w: a PRIMARY KEY is required", ErrInvalid)
	}
	seen := map[string]bool{}
	for _, k := range s.PrimaryKeys {
		i := s.FieldIndex(k)
		if i < 0 {
			return fmt.Errorf("%w: primary key column %q does not exist", ErrInvalid, k)
		}
		if seen[strings.ToLower(k)] {
			return fmt.Errorf("%w: primary key column %q listed twice", ErrInvalid, k)
		}
		seen[strings.ToLower(k)] = true
		if s.Fields[i].Type.Kind == Float || s.Fields[i].Type.Kind == Double {
			return fmt.Errorf("%w: primary key column %q cannot be %s", ErrInvalid, k, s.Fields[i].Type)
		}
		if s.Fields[i].Type.IsNested() {
			return fmt.Errorf("%w: primary key column %q cannot be %s (ARRAY, MAP and ROW columns cannot be keys)", ErrInvalid, k, s.Fields[i].Type)
		}
	}
	parts := map[string]bool{}
	for _, p := range s.PartitionKeys {
		if !seen[strings.ToLower(p)] {
			return fmt.Errorf("%w: partition column %q must be part of the primary key", ErrInvalid, p)
		}
		if parts[strings.ToLower(p)] {
			return fmt.Errorf("%w: partition column %q listed twice", ErrInvalid, p)
		}
		parts[strings.ToLower(p)] = true
	}
	return nil
}

// nestedIDs checks that the nested field ids of t are unique in the table
// (ids holds those seen so far) and at most highest.
func nestedIDs(t DataType, ids map[int]bool, highest int) error {
	for _, f := range t.Fields {
		if ids[f.ID] || f.ID < 0 {
			return fmt.Errorf("%w: duplicate or negative field id %d of nested field %q", ErrInvalid, f.ID, f.Name)
		}
		ids[f.ID] = true
		if f.ID > highest {
			return fmt.Errorf("%w: nested field id %d above highest field id %d", ErrInvalid, f.ID, highest)
		}
		if err := nestedIDs(f.Type, ids, highest); err != nil {
			return err
		}
	}
	return nil
}

// ValidateIdentifier checks a database, table or column name: 1..128
// characters of letters, digits and '_' (plus '-' for databases and tables),
// not starting with a digit. This rules out '/', '..', '$' and control
// characters, so names are safe as path segments.
func ValidateIdentifier(what, name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty %s name", ErrInvalid, what)
	}
	if len(name) > 128 {
		return fmt.Errorf("%w: %s name longer than 128 characters", ErrInvalid, what)
	}
	for i, r := range name {
		ok := r == '_' || (r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) ||
			(r == '-' && what != "column")
		if !ok {
			return fmt.Errorf("%w: %s name %q: character %q not allowed (letters, digits, '_' only)", ErrInvalid, what, name, r)
		}
		if i == 0 && unicode.IsDigit(r) {
			return fmt.Errorf("%w: %s name %q must not start with a digit", ErrInvalid, what, name)
		}
	}
	return nil
}

// CheckRow verifies a row against the schema: arity, Go types and NOT NULL.
func (s *Schema) CheckRow(r Row) error {
	if len(r) != len(s.Fields) {
		return fmt.Errorf("%w: row has %d values, table has %d columns", ErrInvalid, len(r), len(s.Fields))
	}
	for i, f := range s.Fields {
		if r[i] == nil {
			if f.NotNull {
				return fmt.Errorf("%w: column %q is NOT NULL", ErrInvalid, f.Name)
			}
			continue
		}
		if err := CheckValue(r[i], f.Type); err != nil {
			return fmt.Errorf("column %q: %w", f.Name, err)
		}
	}
	for _, k := range s.KeyIndexes() {
		if r[k] == nil {
			return fmt.Errorf("%w: missing value for primary key column %q", ErrInvalid, s.Fields[k].Name)
		}
	}
	return nil
}

// CoerceRow converts loosely typed values to the schema's Go types and then
// checks the row.
func (s *Schema) CoerceRow(r Row) (Row, error) {
	if len(r) != len(s.Fields) {
		return nil, fmt.Errorf("%w: row has %d values, table has %d columns", ErrInvalid, len(r), len(s.Fields))
	}
	out := make(Row, len(r))
	for i, f := range s.Fields {
		v, err := Coerce(r[i], f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		out[i] = v
	}
	if err := s.CheckRow(out); err != nil {
		return nil, err
	}
	return out, nil
}
