package catalog

import (
	"errors"
	"fmt"
	"slices"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// Mode is a table's schema compatibility mode (option schema.compatibility),
// with the meaning it has in a schema registry:
//
//	backward  readers of the new schema can read data written with the
//	          previous one (consumers upgrade first; old writers keep working)
//	forward   readers of the previous schema can read data written with the
//	          new one (writers upgrade first; old readers keep working)
//	full      both
//	none      no check (the structural rules of EvolveSchema still hold)
//
// The _transitive variants check against every retained schema version
// instead of only the previous one. See docs/adr/0005.
type Mode string

// The compatibility modes.
const (
	Backward           Mode = "backward"
	BackwardTransitive Mode = "backward_transitive"
	Forward            Mode = "forward"
	ForwardTransitive  Mode = "forward_transitive"
	Full               Mode = "full"
	FullTransitive     Mode = "full_transitive"
	None               Mode = "none"
)

// DefaultMode applies when schema.compatibility is not set.
const DefaultMode = Backward

// ParseMode parses a schema.compatibility value.
func ParseMode(s string) (Mode, error) {
	m := Mode(s)
	switch m {
	case Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive, None:
		return m, nil
	}
	return "", fmt.Errorf("%w: option %s: unknown mode %q", types.ErrInvalid, table.OptSchemaCompatibility, s)
}

// ModeOf returns the compatibility mode a schema's options set.
func ModeOf(s *types.Schema) (Mode, error) {
	v, ok := s.Options[table.OptSchemaCompatibility]
	if !ok {
		return DefaultMode, nil
	}
	return ParseMode(v)
}

func (m Mode) backward() bool {
	return m == Backward || m == BackwardTransitive || m == Full || m == FullTransitive
}
func (m Mode) forward() bool {
	return m == Forward || m == ForwardTransitive || m == Full || m == FullTransitive
}
func (m Mode) transitive() bool {
	return m == BackwardTransitive || m == ForwardTransitive || m == FullTransitive
}

// ErrIncompatible marks schema changes (and writers on old schemas) that
// the table's compatibility mode rejects. Such errors also wrap
// types.ErrInvalid.
var ErrIncompatible = errors.New("incompatible schema change")

// The rules a compatibility check can find violated.
const (
	// RuleMissingNotNull: the reader has a NOT NULL column without a
	// DEFAULT that the writer's data lacks (added, or dropped on the other
	// side).
	RuleMissingNotNull = "NOT NULL column without a DEFAULT"
	// RuleType: the writer stores a type the reader cannot read (a widened
	// column read by an older reader).
	RuleType = "type not readable"
	// RuleNullable: the reader requires NOT NULL where the writer allowed
	// NULLs.
	RuleNullable = "nullable data in a NOT NULL column"
)

// CompatibilityError is a violated compatibility rule: readers of schema
// Reader cannot read data written with schema Writer because of Column.
type CompatibilityError struct {
	Mode   Mode
	Rule   string
	Column string
	Reader int64
	Writer int64
	Detail string
}

func (e *CompatibilityError) Error() string {
	return fmt.Sprintf("schema.compatibility=%s: rule %q violated by column %q: readers of schema %d cannot read data written with schema %d: %s",
		e.Mode, e.Rule, e.Column, e.Reader, e.Writer, e.Detail)
}

// Violation returns the column and the rule, prefixed with the mode
// ("schema.compatibility=forward: type not readable"), for callers that
// report them separately (the Kafka sink's DLQ headers).
func (e *CompatibilityError) Violation() (column, rule string) {
	return e.Column, "schema.compatibility=" + string(e.Mode) + ": " + e.Rule
}

// Unwrap makes the error match ErrIncompatible and types.ErrInvalid.
func (e *CompatibilityError) Unwrap() []error { return []error{ErrIncompatible, types.ErrInvalid} }

// CheckCompatibility checks newSchema against the retained versions
// oldSchemas (ascending id; the last is the current one) under mode: the
// previous version only, or all of them for the _transitive modes, in the
// directions the mode names. It returns the first violation (nearest
// version first, backward before forward, columns in schema order) as a
// *CompatibilityError, or nil. It is pure: no I/O.
func CheckCompatibility(mode Mode, oldSchemas []*types.Schema, newSchema *types.Schema) error {
	if _, err := ParseMode(string(mode)); err != nil {
		return err
	}
	if mode == None || len(oldSchemas) == 0 {
		return nil
	}
	against := oldSchemas[len(oldSchemas)-1:]
	if mode.transitive() {
		against = oldSchemas
	}
	for _, old := range slices.Backward(against) {
		if mode.backward() {
			if v := canRead(newSchema, old); v != nil {
				v.Mode = mode
				return v
			}
		}
		if mode.forward() {
			if v := canRead(old, newSchema); v != nil {
				v.Mode = mode
				return v
			}
		}
	}
	return nil
}

// canRead returns why readers of schema r cannot read data written with
// schema w, or nil. Fields are matched by id: a field w lacks reads as the
// reader's default or NULL; a field r lacks is ignored.
func canRead(r, w *types.Schema) *CompatibilityError {
	for _, fr := range r.Fields {
		v := &CompatibilityError{Column: fr.Name, Reader: r.ID, Writer: w.ID}
		i := w.FieldByID(fr.ID)
		if i < 0 {
			if fr.NotNull && fr.Default == nil {
				v.Rule = RuleMissingNotNull
				v.Detail = "that data has no value for the column (give it a DEFAULT or make it nullable)"
				return v
			}
			continue
		}
		fw := w.Fields[i]
		if !readableAs(fw.Type, fr.Type) {
			v.Rule = RuleType
			v.Detail = fmt.Sprintf("it stores %s, which cannot be read as %s", fw.Type, fr.Type)
			return v
		}
		if fr.NotNull && !fw.NotNull {
			v.Rule = RuleNullable
			v.Detail = "the column is nullable there, so it may hold NULLs"
			return v
		}
	}
	return nil
}

// CheckReadable verifies the structural rule that holds in every mode: the
// new schema can read every data file written with a retained version
// (types of a field id only ever widen, key columns never change type).
func CheckReadable(oldSchemas []*types.Schema, newSchema *types.Schema) error {
	for _, old := range oldSchemas {
		for _, f := range newSchema.Fields {
			i := old.FieldByID(f.ID)
			if i < 0 {
				continue
			}
			if of := old.Fields[i]; !readableAs(of.Type, f.Type) {
				return fmt.Errorf("%w: column %q is %s in schema %d, which cannot be read as %s", types.ErrInvalid, f.Name, of.Type, old.ID, f.Type)
			}
		}
	}
	return nil
}
