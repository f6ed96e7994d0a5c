package query

import (
	"slices"
	"strings"

	"github.com/siltdb/silt/types"
)

// SQL over nested values: constructors (ARRAY[..] / [..] / LIST_VALUE,
// MAP {k: v} / MAP([keys], [values]), {'f': v} / STRUCT_PACK, ROW(..)),
// element access (a[i] 1-based, m[key], r['f'], r.f), CARDINALITY (LEN,
// ARRAY_LENGTH) and comparisons (element-wise, types.Compare). They are
// bound here as row expressions, the reference; the vectorized executor
// runs element access, CARDINALITY and comparisons over Arrow list, map
// and struct arrays (vec_nested.go) and constructors row by row.

// Internal names of the constructors and element access the parser
// produces (DuckDB's function names, so they can also be called).
const (
	fnListValue  = "LIST_VALUE"
	fnStructPack = "STRUCT_PACK" // args alternate a field-name string literal and a value
	fnExtract    = "ARRAY_EXTRACT"
)

// bindNestedFunc binds the nested functions; ok is false for other names.
func (b *binder) bindNestedFunc(f *funcCall) (bexpr, bool, error) {
	switch f.name {
	case fnListValue, "ARRAY_VALUE", "LIST_PACK", "MAP", "ROW", fnStructPack, fnExtract, "LIST_EXTRACT", "ELEMENT_AT",
		"CARDINALITY", "LEN", "ARRAY_LENGTH":
	case "UNNEST": // what is left after unnest_select.go moved the select list's into FROM
		return nil, true, errf(types.ErrInvalid, "unnest() is not allowed in %s; use it in the select list or in FROM: FROM t, UNNEST(t.a) AS u(x)", b.clause)
	default:
		return nil, false, nil
	}
	if f.name == fnStructPack {
		return b.bindStructPack(f)
	}
	args := make([]bexpr, len(f.args))
	for i, a := range f.args {
		v, err := b.bind(a)
		if err != nil {
			return nil, true, err
		}
		args[i] = v
	}
	nargs := func(n int) error {
		if len(args) != n {
			return errf(types.ErrInvalid, "%s takes %d argument(s), got %d", f.name, n, len(args))
		}
		return nil
	}
	switch f.name {
	case fnListValue, "ARRAY_VALUE", "LIST_PACK":
		et, err := b.unifyElems(args, f.args, "ARRAY")
		if err != nil {
			return nil, true, err
		}
		return &listB{elems: args, t: types.TArray(et)}, true, nil
	case "MAP":
		if len(args) == 0 {
			return &constB{v: types.Map{}, t: types.TMap(types.TString, types.TString)}, true, nil
		}
		if err := nargs(2); err != nil {
			return nil, true, err
		}
		kl, okK := args[0].(*listB)
		vl, okV := args[1].(*listB)
		if !okK || !okV || len(kl.elems) != len(vl.elems) {
			return nil, true, errf(types.ErrInvalid, "MAP takes two lists of the same length (MAP([keys], [values])) in %s", f)
		}
		if kl.t.Elem().IsNested() {
			return nil, true, errf(types.ErrInvalid, "MAP keys cannot be %s in %s", kl.t.Elem(), f)
		}
		return &mapB{keys: kl.elems, vals: vl.elems, t: types.TMap(kl.t.Elem(), vl.t.Elem())}, true, nil
	case "ROW":
		if len(args) == 0 {
			return nil, true, errf(types.ErrInvalid, "ROW needs at least one value")
		}
		fields := make([]types.Field, len(args))
		for i, a := range args {
			fields[i] = types.Field{Name: "f" + itoa(i+1), Type: valueType(a)}
		}
		return &structB{vals: args, t: types.TStruct(fields...)}, true, nil
	case fnExtract, "LIST_EXTRACT", "ELEMENT_AT":
		if err := nargs(2); err != nil {
			return nil, true, err
		}
		return bindExtract(args[0], args[1], f)
	default: // CARDINALITY, LEN, ARRAY_LENGTH
		if err := nargs(1); err != nil {
			return nil, true, err
		}
		if k := args[0].Type().Kind; k != types.ArrayKind && k != types.MapKind && k != types.KindInvalid {
			return nil, true, errf(types.ErrInvalid, "%s needs an ARRAY or MAP, got %s in %s", f.name, args[0].Type(), f)
		}
		return &cardinalityB{x: args[0]}, true, nil
	}
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		if i /= 10; i == 0 {
			return string(buf[n:])
		}
	}
}

// valueType is the type of v, STRING for an untyped NULL.
func valueType(v bexpr) types.DataType {
	if t := v.Type(); t.Kind != types.KindInvalid {
		return t
	}
	return types.TString
}

// unifyElems gives the values one type (literals converted, others cast)
// and returns it; INT for none or only NULLs.
func (b *binder) unifyElems(args []bexpr, es []expr, what string) (types.DataType, error) {
	if len(args) == 0 {
		return types.TInt, nil
	}
	typeNullFields(args)
	// Empty constructors ([] and MAP {}) take the type of the others.
	var typed []bexpr
	var typedE []expr
	for i, a := range args {
		if !isEmptyNested(a) {
			typed, typedE = append(typed, a), append(typedE, es[i])
		}
	}
	t, err := unify(typed, typedE, what)
	if err != nil {
		return types.DataType{}, err
	}
	j := 0
	for i, a := range args {
		if !isEmptyNested(a) {
			args[i] = typed[j]
			j++
		}
	}
	if t.Kind == types.KindInvalid {
		for _, a := range args {
			if isEmptyNested(a) {
				return a.Type(), nil
			}
		}
		return types.TInt, nil
	}
	for i, a := range args {
		switch {
		case isEmptyNested(a) && t.Kind == a.Type().Kind:
			args[i] = &constB{v: emptyOf(t), t: t}
		case a.Type().Kind != types.KindInvalid && !sameShape(a.Type(), t):
			args[i] = &castB{x: a, to: t}
		}
	}
	return t, nil
}

// typeNullFields gives a field that is a bare NULL in a ROW constructor
// the type the same field has in another ROW constructor of args, so that
// [{'x': NULL}, {'x': 1}] is an ARRAY<ROW<x INT>> as in DuckDB (alone, a
// NULL field is a STRING).
func typeNullFields(args []bexpr) {
	var known *structB
	for _, a := range args {
		s, ok := a.(*structB)
		if !ok {
			continue
		}
		if known == nil {
			known = &structB{vals: slices.Clone(s.vals), t: s.t}
			continue
		}
		if !sameFieldNames(known.t, s.t) {
			return
		}
		for i, v := range s.vals {
			if known.vals[i].Type().Kind == types.KindInvalid {
				known.vals[i] = v
			}
		}
	}
	if known == nil {
		return
	}
	for k, a := range args {
		s, ok := a.(*structB)
		if !ok {
			continue
		}
		var fixed *structB
		for i, v := range s.vals {
			c, isConst := v.(*constB)
			kt := known.vals[i].Type()
			if !isConst || c.v != nil || v.Type().Kind != types.KindInvalid || kt.Kind == types.KindInvalid {
				continue
			}
			if fixed == nil {
				fixed = &structB{vals: slices.Clone(s.vals), t: s.t}
				fixed.t.Fields = slices.Clone(s.t.Fields)
			}
			fixed.vals[i] = &constB{t: kt}
			fixed.t.Fields[i].Type = kt
		}
		if fixed != nil {
			args[k] = fixed
		}
	}
}

// sameFieldNames reports whether two ROW types have the same field names
// in the same order.
func sameFieldNames(a, b types.DataType) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if !strings.EqualFold(a.Fields[i].Name, b.Fields[i].Name) {
			return false
		}
	}
	return true
}

// isEmptyNested reports whether v is an empty ARRAY or MAP constructor,
// whose element types are open.
func isEmptyNested(v bexpr) bool {
	switch x := v.(type) {
	case *listB:
		return len(x.elems) == 0
	case *constB:
		m, ok := x.v.(types.Map)
		return ok && len(m) == 0 && x.lit == nil
	}
	return false
}

func emptyOf(t types.DataType) types.Value {
	if t.Kind == types.MapKind {
		return types.Map{}
	}
	return types.List{}
}

func (b *binder) bindStructPack(f *funcCall) (bexpr, bool, error) {
	if len(f.args) == 0 || len(f.args)%2 != 0 {
		return nil, true, errf(types.ErrInvalid, "%s takes field names and values", f.name)
	}
	var vals []bexpr
	var fields []types.Field
	for i := 0; i < len(f.args); i += 2 {
		lit, ok := f.args[i].(*literal)
		if !ok || lit.kind != litString {
			return nil, true, errf(types.ErrInvalid, "a struct field name must be a string literal, got %s", f.args[i])
		}
		v, err := b.bind(f.args[i+1])
		if err != nil {
			return nil, true, err
		}
		name := lit.val.(string)
		for _, g := range fields {
			if strings.EqualFold(g.Name, name) {
				return nil, true, errf(types.ErrInvalid, "struct field %q given twice", name)
			}
		}
		fields = append(fields, types.Field{Name: name, Type: valueType(v)})
		vals = append(vals, v)
	}
	t := types.TStruct(fields...)
	if err := t.Validate(); err != nil {
		return nil, true, err
	}
	return &structB{vals: vals, t: t}, true, nil
}

// bindExtract binds x[i]: an ARRAY element (1-based; NULL out of range),
// a MAP value (NULL for a missing key) or a ROW field named by a string
// literal.
func bindExtract(x, idx bexpr, f *funcCall) (bexpr, bool, error) {
	t := x.Type()
	switch t.Kind {
	case types.ArrayKind:
		if k := idx.Type().Kind; k != types.Int && k != types.BigInt && k != types.KindInvalid {
			return nil, true, errf(types.ErrInvalid, "an ARRAY index must be an integer, got %s in %s", idx.Type(), f)
		}
		return &extractB{x: x, idx: idx, t: t.Elem()}, true, nil
	case types.MapKind:
		if c, ok := isLit(idx); ok {
			cv, err := coerceLiteral(c.lit, t.Key())
			if err != nil {
				return nil, true, errf(types.ErrInvalid, "map key %s is not a %s in %s", c.lit, t.Key(), f)
			}
			idx = &constB{v: cv, t: t.Key(), lit: c.lit}
		} else if it := idx.Type(); it.Kind != types.KindInvalid && !sameShape(it, t.Key()) {
			idx = &castB{x: idx, to: t.Key()}
		}
		return &extractB{x: x, idx: idx, t: t.Value()}, true, nil
	case types.StructKind:
		c, ok := isLit(idx)
		if ok {
			if name, isStr := c.v.(string); isStr {
				return fieldAccess(x, name, f.String())
			}
		}
		return nil, true, errf(types.ErrInvalid, "a ROW field is selected by a string literal ('name'), got %s", f.args[1])
	case types.KindInvalid:
		return &constB{t: nullType}, true, nil
	}
	return nil, true, errf(types.ErrInvalid, "cannot take an element of %s in %s (only ARRAY, MAP and ROW values have elements)", t, f)
}

// fieldAccess binds the field name of a ROW value.
func fieldAccess(x bexpr, name, what string) (bexpr, bool, error) {
	t := x.Type()
	for i, fld := range t.Fields {
		if strings.EqualFold(fld.Name, name) {
			return &fieldB{x: x, i: i, t: fld.Type}, true, nil
		}
	}
	return nil, true, errf(types.ErrInvalid, "%s has no field %q in %s", t, name, what)
}

// bindFieldRef binds r.f, a column reference whose qualifier is not a
// table but a ROW column; ok is false otherwise.
func (b *binder) bindFieldRef(c *columnRef) (bexpr, bool, error) {
	if c.qual == "" {
		return nil, false, nil
	}
	i, err := b.sc.find("", c.qual)
	if err != nil || i < 0 || b.sc.cols[i].t.Kind != types.StructKind {
		return nil, false, nil
	}
	col := &colB{idx: i, t: b.sc.cols[i].t, name: b.sc.cols[i].name}
	return fieldAccess(col, c.name, c.String())
}

// sameShape reports whether two types are the same up to nested field ids
// and nullability.
func sameShape(a, b types.DataType) bool {
	if a.Kind != b.Kind || a.Precision != b.Precision || a.Scale != b.Scale || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if (a.Kind == types.StructKind && !strings.EqualFold(a.Fields[i].Name, b.Fields[i].Name)) || !sameShape(a.Fields[i].Type, b.Fields[i].Type) {
			return false
		}
	}
	return true
}

type listB struct {
	elems []bexpr
	t     types.DataType
}

func (e *listB) Type() types.DataType { return e.t }
func (e *listB) Eval(r types.Row) (types.Value, error) {
	out := make(types.List, len(e.elems))
	for i, x := range e.elems {
		v, err := x.Eval(r)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

type mapB struct {
	keys, vals []bexpr
	t          types.DataType
}

func (e *mapB) Type() types.DataType { return e.t }
func (e *mapB) Eval(r types.Row) (types.Value, error) {
	out := make(types.Map, 0, len(e.keys))
	for i := range e.keys {
		k, err := e.keys[i].Eval(r)
		if err != nil {
			return nil, err
		}
		if k == nil {
			return nil, errf(types.ErrInvalid, "MAP keys cannot be NULL")
		}
		for _, x := range out {
			if types.Compare(x.Key, k) == 0 {
				return nil, errf(types.ErrInvalid, "duplicate MAP key %s", types.FormatValue(k, e.t.Key()))
			}
		}
		v, err := e.vals[i].Eval(r)
		if err != nil {
			return nil, err
		}
		out = append(out, types.MapEntry{Key: k, Value: v})
	}
	return out, nil
}

type structB struct {
	vals []bexpr
	t    types.DataType
}

func (e *structB) Type() types.DataType { return e.t }
func (e *structB) Eval(r types.Row) (types.Value, error) {
	out := make(types.Struct, len(e.vals))
	for i, x := range e.vals {
		v, err := x.Eval(r)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

type extractB struct {
	x, idx bexpr
	t      types.DataType
}

func (e *extractB) Type() types.DataType { return e.t }
func (e *extractB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	k, err := e.idx.Eval(r)
	if err != nil || k == nil {
		return nil, err
	}
	switch x := v.(type) {
	case types.List:
		var i int64
		switch n := k.(type) {
		case int32:
			i = int64(n)
		case int64:
			i = n
		}
		if i < 0 { // from the end, as DuckDB: a[-1] is the last element
			i += int64(len(x)) + 1
		}
		if i < 1 || i > int64(len(x)) {
			return nil, nil
		}
		return x[i-1], nil
	case types.Map:
		for _, en := range x {
			if types.Compare(en.Key, k) == 0 {
				return en.Value, nil
			}
		}
	}
	return nil, nil
}

type fieldB struct {
	x bexpr
	i int
	t types.DataType
}

func (e *fieldB) Type() types.DataType { return e.t }
func (e *fieldB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	return v.(types.Struct)[e.i], nil
}

type cardinalityB struct{ x bexpr }

func (e *cardinalityB) Type() types.DataType { return types.TBigInt }
func (e *cardinalityB) Eval(r types.Row) (types.Value, error) {
	v, err := e.x.Eval(r)
	if err != nil || v == nil {
		return nil, err
	}
	switch x := v.(type) {
	case types.List:
		return int64(len(x)), nil
	case types.Map:
		return int64(len(x)), nil
	}
	return nil, nil
}

// castNested converts a value to a nested type: element by element from
// a nested value of the same kind (ROW fields by position), or, with an
// explicit CAST, from a string in the JSON text form.
func castNested(v types.Value, from, to types.DataType, explicit bool) (types.Value, error) {
	fail := func() (types.Value, error) {
		if explicit {
			return nil, errf(types.ErrInvalid, "cannot CAST %s AS %s", valueText(v, from), to)
		}
		return nil, errf(types.ErrInvalid, "cannot use %s (%s) as %s", valueText(v, from), typeName(from), to)
	}
	child := func(x types.Value, f, t *types.Field) (types.Value, error) {
		c, err := castValue(x, f.Type, t.Type, explicit)
		if err != nil {
			return nil, err
		}
		if c == nil && t.NotNull {
			return nil, errf(types.ErrInvalid, "NULL in NOT NULL nested field %q of %s", t.Name, to)
		}
		return c, nil
	}
	if s, ok := v.(string); ok && explicit {
		out, err := types.ParseText(s, to)
		if err != nil {
			return nil, errf(types.ErrInvalid, "cannot CAST %s AS %s: %s", valueText(v, from), to, errText(err))
		}
		return out, nil
	}
	if from.Kind != to.Kind || len(from.Fields) != len(to.Fields) {
		return fail()
	}
	var err error
	switch x := v.(type) {
	case types.List:
		out := make(types.List, len(x))
		for i, e := range x {
			if out[i], err = child(e, &from.Fields[0], &to.Fields[0]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case types.Map:
		out := make(types.Map, len(x))
		for i, e := range x {
			if out[i].Key, err = child(e.Key, &from.Fields[0], &to.Fields[0]); err != nil {
				return nil, err
			}
			if out[i].Value, err = child(e.Value, &from.Fields[1], &to.Fields[1]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case types.Struct:
		if len(x) != len(to.Fields) {
			return fail()
		}
		out := make(types.Struct, len(x))
		for i, e := range x {
			if out[i], err = child(e, &from.Fields[i], &to.Fields[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return fail()
}
