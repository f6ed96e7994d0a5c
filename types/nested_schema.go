package types

// CloneType returns a deep copy of t: its nested fields (and theirs) are
// copied, so that assigning ids or adding fields to the copy leaves t as
// it was.
func CloneType(t DataType) DataType {
	if len(t.Fields) == 0 {
		return t
	}
	fs := make([]Field, len(t.Fields))
	for i, f := range t.Fields {
		f.Type = CloneType(f.Type)
		fs[i] = f
	}
	t.Fields = fs
	return t
}

// nestedReadableAs is ReadableAs for two nested types: the same kind,
// children matched by field id (renames keep ids), each stored child
// readable as its read child. A ROW field the stored type lacks (added
// later) reads as NULL; a stored field the read type lacks (dropped) is
// skipped. ARRAY elements and MAP keys and values always exist.
func nestedReadableAs(from, to DataType) bool {
	if from.Kind != to.Kind {
		return false
	}
	for _, tf := range to.Fields {
		found := false
		for _, ff := range from.Fields {
			if ff.ID == tf.ID {
				if !ReadableAs(ff.Type, tf.Type) {
					return false
				}
				found = true
				break
			}
		}
		if !found && to.Kind != StructKind {
			return false
		}
	}
	return true
}
