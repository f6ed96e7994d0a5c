package catalog

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// ChangeKind is the kind of one schema change.
type ChangeKind uint8

// The schema changes ALTER TABLE supports.
const (
	AddColumn               ChangeKind = iota + 1 // Column, Type, NotNull, Default, Comment, Position, IfNotExists
	RenameColumn                                  // Column, NewName
	DropColumn                                    // Column, IfExists
	UpdateColumnType                              // Column, Type
	UpdateColumnNullability                       // Column, NotNull
	UpdateColumnComment                           // Column, Comment
	SetOptions                                    // Options
	ResetOptions                                  // Keys
)

// ColumnPosition places an added column: First, or after the column After,
// or (zero value) last.
type ColumnPosition struct {
	First bool
	After string
}

// SchemaChange is one change of a table's schema. The fields a kind uses are
// listed with the kinds; the others are ignored. Several changes applied
// together (one ALTER TABLE statement) produce one schema version.
type SchemaChange struct {
	Kind ChangeKind
	// Column names the column the change applies to (case-insensitive).
	Column string
	// NewName is the new name of a renamed column.
	NewName string
	// Type is the type of an added column, or the new (wider) type.
	Type types.DataType
	// NotNull is the nullability of an added column, or the new one.
	NotNull bool
	// Default is an added column's default in text form (types.ParseText
	// with Type); nil for none. Data written before the column existed
	// reads it, and so do INSERTs that omit the column.
	Default *string
	// Comment is the comment of an added column, or the new comment.
	Comment string
	// Position places an added column.
	Position ColumnPosition
	// IfNotExists makes adding an existing column a no-op.
	IfNotExists bool
	// IfExists makes dropping a missing column a no-op.
	IfExists bool
	// Options are set (validated as table options).
	Options map[string]string
	// Keys are the options reset to their defaults.
	Keys []string
}

// String renders the change as the SQL of an ALTER TABLE action; the
// schema's Change field records these.
func (c SchemaChange) String() string {
	switch c.Kind {
	case AddColumn:
		var b strings.Builder
		b.WriteString("ADD COLUMN ")
		if c.IfNotExists {
			b.WriteString("IF NOT EXISTS ")
		}
		b.WriteString(c.Column + " " + c.Type.String())
		if c.NotNull {
			b.WriteString(" NOT NULL")
		}
		if c.Default != nil {
			b.WriteString(" DEFAULT " + sqlString(*c.Default))
		}
		if c.Comment != "" {
			b.WriteString(" COMMENT " + sqlString(c.Comment))
		}
		switch {
		case c.Position.First:
			b.WriteString(" FIRST")
		case c.Position.After != "":
			b.WriteString(" AFTER " + c.Position.After)
		}
		return b.String()
	case RenameColumn:
		return "RENAME COLUMN " + c.Column + " TO " + c.NewName
	case DropColumn:
		if c.IfExists {
			return "DROP COLUMN IF EXISTS " + c.Column
		}
		return "DROP COLUMN " + c.Column
	case UpdateColumnType:
		return "ALTER COLUMN " + c.Column + " TYPE " + c.Type.String()
	case UpdateColumnNullability:
		if c.NotNull {
			return "ALTER COLUMN " + c.Column + " SET NOT NULL"
		}
		return "ALTER COLUMN " + c.Column + " DROP NOT NULL"
	case UpdateColumnComment:
		return "ALTER COLUMN " + c.Column + " COMMENT " + sqlString(c.Comment)
	case SetOptions:
		keys := make([]string, 0, len(c.Options))
		for k := range c.Options {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = sqlString(k) + " = " + sqlString(c.Options[k])
		}
		return "SET (" + strings.Join(parts, ", ") + ")"
	case ResetOptions:
		parts := make([]string, len(c.Keys))
		for i, k := range c.Keys {
			parts[i] = sqlString(k)
		}
		return "RESET (" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("ChangeKind(%d)", c.Kind)
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// describeChanges is the Change text of a schema version.
func describeChanges(changes []SchemaChange) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

// EvolveSchema applies changes, in order, to old and returns the next
// schema version (ID old.ID+1, field ids assigned from HighestFieldID). It
// enforces the rules that hold whatever the compatibility mode, because
// data files are never rewritten:
//
//   - primary-key and partition columns keep their type and cannot be
//     dropped (keys are encoded and hashed to buckets by value);
//   - partition columns cannot be renamed (partition paths name them);
//     other key columns can (buckets hash values, not names);
//   - a type can only widen the way data-file readers convert stored
//     values: INT→BIGINT, FLOAT→DOUBLE, DECIMAL(p,s)→DECIMAL(p',s), p' ≥ p;
//   - columns named by options (sequence.field, record-level.time-field)
//     cannot be dropped, and renames carry the options along; bucket,
//     merge-engine, sequence.field and fields.<col>.aggregate-function
//     cannot change (they decide how existing records merge);
//   - the result is a valid schema with valid options.
//
// The compatibility mode is checked separately (CheckCompatibility). When
// every change is a no-op (IF [NOT] EXISTS, an unchanged value), old itself
// is returned. Errors wrap types.ErrInvalid and name the column.
func EvolveSchema(old *types.Schema, changes []SchemaChange) (*types.Schema, error) {
	if len(changes) == 0 {
		return nil, fmt.Errorf("%w: no schema change given", types.ErrInvalid)
	}
	s := cloneSchema(old)
	changed := false
	for _, c := range changes {
		did, err := applyChange(s, c)
		if err != nil {
			return nil, err
		}
		changed = changed || did
	}
	if !changed {
		return old, nil
	}
	s.ID = old.ID + 1
	s.Change = describeChanges(changes)
	if err := validateEvolved(s); err != nil {
		return nil, err
	}
	if err := table.CheckNewOptions(old.Options, s.Options); err != nil {
		return nil, err
	}
	return s, nil
}

// validateEvolved runs the checks table.Open runs (schema, options, merge
// engine.
func validateEvolved(s *types.Schema) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := table.CheckOptions(s); err != nil {
		return err
	}
	if _, err := table.NewMergeEngine(s); err != nil {
		return err
	}
	return nil
}

func cloneSchema(s *types.Schema) *types.Schema {
	c := *s
	c.Fields = slices.Clone(s.Fields)
	c.PrimaryKeys = slices.Clone(s.PrimaryKeys)
	c.PartitionKeys = slices.Clone(s.PartitionKeys)
	c.Options = make(map[string]string, len(s.Options))
	for k, v := range s.Options {
		c.Options[k] = v
	}
	return &c
}

func isKey(s *types.Schema, name string) bool       { return containsFold(s.PrimaryKeys, name) }
func isPartition(s *types.Schema, name string) bool { return containsFold(s.PartitionKeys, name) }

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// column returns the position of an existing column or an error naming it.
func column(s *types.Schema, name string) (int, error) {
	i := s.FieldIndex(name)
	if i < 0 {
		return -1, fmt.Errorf("%w: column %q does not exist", types.ErrInvalid, name)
	}
	return i, nil
}

// applyChange applies one change to s in place and reports whether it
// changed anything.
func applyChange(s *types.Schema, c SchemaChange) (bool, error) {
	switch c.Kind {
	case AddColumn:
		return addColumn(s, c)
	case RenameColumn:
		return renameColumn(s, c)
	case DropColumn:
		return dropColumn(s, c)
	case UpdateColumnType:
		return updateType(s, c)
	case UpdateColumnNullability:
		i, err := column(s, c.Column)
		if err != nil {
			return false, err
		}
		f := &s.Fields[i]
		if !c.NotNull && isKey(s, f.Name) {
			return false, fmt.Errorf("%w: cannot DROP NOT NULL on primary key column %q: key columns are always NOT NULL", types.ErrInvalid, f.Name)
		}
		if f.NotNull == c.NotNull {
			return false, nil
		}
		f.NotNull = c.NotNull
		return true, nil
	case UpdateColumnComment:
		i, err := column(s, c.Column)
		if err != nil {
			return false, err
		}
		if s.Fields[i].Comment == c.Comment {
			return false, nil
		}
		s.Fields[i].Comment = c.Comment
		return true, nil
	case SetOptions:
		return setOptions(s, c.Options)
	case ResetOptions:
		return resetOptions(s, c.Keys)
	}
	return false, fmt.Errorf("%w: unknown schema change kind %d", types.ErrInvalid, c.Kind)
}

func addColumn(s *types.Schema, c SchemaChange) (bool, error) {
	if strings.Contains(c.Column, ".") {
		return addNestedField(s, c)
	}
	if s.FieldIndex(c.Column) >= 0 {
		if c.IfNotExists {
			return false, nil
		}
		return false, fmt.Errorf("%w: column %q already exists", types.ErrInvalid, c.Column)
	}
	if err := types.ValidateIdentifier("column", c.Column); err != nil {
		return false, err
	}
	if err := c.Type.Validate(); err != nil {
		return false, fmt.Errorf("column %q: %w", c.Column, err)
	}
	f := types.Field{ID: s.HighestFieldID + 1, Name: c.Column, Type: c.Type, NotNull: c.NotNull, Comment: c.Comment}
	if c.Default != nil {
		v, err := types.ParseText(*c.Default, c.Type)
		if err != nil {
			return false, fmt.Errorf("column %q: DEFAULT %s: %w", c.Column, sqlString(*c.Default), err)
		}
		text := types.FormatValue(v, c.Type) // canonical text
		f.Default = &text
	}
	pos := len(s.Fields)
	switch {
	case c.Position.First:
		pos = 0
	case c.Position.After != "":
		i := s.FieldIndex(c.Position.After)
		if i < 0 {
			return false, fmt.Errorf("%w: column %q: AFTER column %q does not exist", types.ErrInvalid, c.Column, c.Position.After)
		}
		pos = i + 1
	}
	s.HighestFieldID = f.ID
	assignNestedIDs(s, &f)
	s.Fields = slices.Insert(s.Fields, pos, f)
	return true, nil
}

func renameColumn(s *types.Schema, c SchemaChange) (bool, error) {
	if strings.Contains(c.Column, ".") {
		return renameNestedField(s, c)
	}
	i, err := column(s, c.Column)
	if err != nil {
		return false, err
	}
	old := s.Fields[i].Name
	if old == c.NewName {
		return false, nil
	}
	if j := s.FieldIndex(c.NewName); j >= 0 && j != i {
		return false, fmt.Errorf("%w: cannot rename column %q to %q: column %q already exists", types.ErrInvalid, old, c.NewName, s.Fields[j].Name)
	}
	if err := types.ValidateIdentifier("column", c.NewName); err != nil {
		return false, err
	}
	if isPartition(s, old) {
		return false, fmt.Errorf("%w: cannot rename partition column %q: partition paths name the column (%s=…), so new rows of a key would land in another partition than its existing rows", types.ErrInvalid, old, old)
	}
	s.Fields[i].Name = c.NewName
	for k, n := range s.PrimaryKeys {
		if strings.EqualFold(n, old) {
			s.PrimaryKeys[k] = c.NewName
		}
	}
	for _, k := range columnOptions() {
		if v, ok := s.Options[k]; ok && strings.EqualFold(v, old) {
			s.Options[k] = c.NewName
		}
	}
	for k, v := range s.Options {
		if col, ok := fieldOptionColumn(k); ok && strings.EqualFold(col, old) {
			delete(s.Options, k)
			s.Options["fields."+c.NewName+k[len("fields.")+len(col):]] = v
		}
	}
	return true, nil
}

// columnOptions are the options whose value names a column: renames carry
// them along, and their column cannot be dropped.
func columnOptions() []string {
	return []string{table.OptSequenceField, "record-level.time-field"}
}

// fieldOptionColumn returns the column of a fields.<col>.<setting> option.
func fieldOptionColumn(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "fields.")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 {
		return "", false
	}
	return rest[:i], true
}

func dropColumn(s *types.Schema, c SchemaChange) (bool, error) {
	if strings.Contains(c.Column, ".") {
		return dropNestedField(s, c)
	}
	i := s.FieldIndex(c.Column)
	if i < 0 {
		if c.IfExists {
			return false, nil
		}
		return false, fmt.Errorf("%w: column %q does not exist", types.ErrInvalid, c.Column)
	}
	name := s.Fields[i].Name
	switch {
	case isPartition(s, name):
		return false, fmt.Errorf("%w: cannot drop partition column %q: rows are stored by partition and key", types.ErrInvalid, name)
	case isKey(s, name):
		return false, fmt.Errorf("%w: cannot drop primary key column %q: rows are identified and bucketed by their key", types.ErrInvalid, name)
	}
	for _, k := range columnOptions() {
		if v, ok := s.Options[k]; ok && strings.EqualFold(v, name) {
			return false, fmt.Errorf("%w: cannot drop column %q: it is the table's %s", types.ErrInvalid, name, k)
		}
	}
	for k := range s.Options {
		if col, ok := fieldOptionColumn(k); ok && strings.EqualFold(col, name) {
			delete(s.Options, k)
		}
	}
	s.Fields = slices.Delete(s.Fields, i, i+1)
	return true, nil
}

func updateType(s *types.Schema, c SchemaChange) (bool, error) {
	i, err := column(s, c.Column)
	if err != nil {
		return false, err
	}
	f := &s.Fields[i]
	if err := c.Type.Validate(); err != nil {
		return false, fmt.Errorf("column %q: %w", f.Name, err)
	}
	if f.Type.Equal(c.Type) {
		return false, nil
	}
	if f.Type.IsNested() || c.Type.IsNested() {
		return false, fmt.Errorf("%w: cannot change column %q from %s to %s: nested types evolve field by field (ADD COLUMN %s.f T, DROP COLUMN %s.f, RENAME COLUMN %s.f TO g)", types.ErrInvalid, f.Name, f.Type, c.Type, f.Name, f.Name, f.Name)
	}
	if isKey(s, f.Name) {
		return false, fmt.Errorf("%w: cannot change the type of primary key column %q from %s to %s: the key encoding and the bucket hash depend on it", types.ErrInvalid, f.Name, f.Type, c.Type)
	}
	if !Widens(f.Type, c.Type) {
		return false, fmt.Errorf("%w: cannot change column %q from %s to %s: data files are never rewritten and readers only widen INT→BIGINT, FLOAT→DOUBLE and DECIMAL(p,s)→DECIMAL(p',s) with p' ≥ p", types.ErrInvalid, f.Name, f.Type, c.Type)
	}
	f.Type = c.Type
	return true, nil
}

// Widens reports whether values stored as type from are read as type to
// (to ≠ from) by silt's data-file readers without rewriting: INT→BIGINT,
// FLOAT→DOUBLE, DECIMAL(p,s)→DECIMAL(p',s) with p' > p. It matches
// lsm's read conversions (a test checks it against them).
func Widens(from, to types.DataType) bool { return !from.Equal(to) && types.ReadableAs(from, to) }

// readableAs: same type or a widening.
func readableAs(from, to types.DataType) bool { return types.ReadableAs(from, to) }

// immutableOption reports whether an option decides how existing records
// merge or where they live, so it cannot change after CREATE TABLE, and
// why.
func immutableOption(key string) (string, bool) {
	switch key {
	case table.OptBucket:
		return "a key's bucket is hash(key) mod bucket, so existing rows would be in the wrong bucket", true
	case table.OptMergeEngine:
		return "existing records were merged with it", true
	case table.OptSequenceField:
		return "existing records were ordered by it", true
	}
	if strings.HasPrefix(key, "fields.") && strings.HasSuffix(key, ".aggregate-function") || table.IsAggregateParamOption(key) {
		return "existing records were aggregated with it", true
	}
	return "", false
}

// effectiveOption is the value an immutable option behaves as.
func effectiveOption(opts map[string]string, key string) string {
	if v, ok := opts[key]; ok {
		return strings.TrimSpace(v)
	}
	switch {
	case key == table.OptBucket:
		return "1"
	case key == table.OptMergeEngine:
		return table.EngineDeduplicate
	case strings.HasSuffix(key, ".distinct"), strings.HasSuffix(key, ".ignore-retract"):
		return "false"
	case strings.HasSuffix(key, ".list-agg-delimiter"):
		return ","
	case strings.HasPrefix(key, "fields."):
		return "last_non_null_value"
	}
	return ""
}

func setOptions(s *types.Schema, opts map[string]string) (bool, error) {
	if len(opts) == 0 {
		return false, fmt.Errorf("%w: SET needs at least one option", types.ErrInvalid)
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	changed := false
	for _, k := range keys {
		v := opts[k]
		if why, ok := immutableOption(k); ok && effectiveOption(s.Options, k) != strings.TrimSpace(v) {
			return false, fmt.Errorf("%w: option %s cannot be changed after CREATE TABLE: %s", types.ErrInvalid, k, why)
		}
		if cur, ok := s.Options[k]; ok && cur == v {
			continue
		}
		s.Options[k] = v
		changed = true
	}
	return changed, nil
}

func resetOptions(s *types.Schema, keys []string) (bool, error) {
	if len(keys) == 0 {
		return false, fmt.Errorf("%w: RESET needs at least one option", types.ErrInvalid)
	}
	changed := false
	for _, k := range keys {
		if !table.IsOption(k) {
			return false, fmt.Errorf("%w: RESET: unknown table option %q (SELECT * FROM <table>$options lists the options)", types.ErrInvalid, k)
		}
		if _, ok := s.Options[k]; !ok {
			continue
		}
		if why, ok := immutableOption(k); ok && effectiveOption(s.Options, k) != effectiveOption(nil, k) {
			return false, fmt.Errorf("%w: option %s cannot be changed after CREATE TABLE: %s", types.ErrInvalid, k, why)
		}
		delete(s.Options, k)
		changed = true
	}
	return changed, nil
}
