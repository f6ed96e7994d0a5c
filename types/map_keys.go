package types

import (
	"math"
	"strconv"
)

// MapKeySet finds repeated keys of a MAP value as they are decoded:
// two keys are the same when Compare says so (-0 equals 0, every NaN
// equals every other).
type MapKeySet map[string]bool

// Seen reports whether key k of MAP key type kt was added before, and
// adds it.
func (s MapKeySet) Seen(k Value, kt DataType) bool {
	id := FormatValue(k, kt)
	switch x := k.(type) {
	case float32:
		id = floatKeyID(float64(x))
	case float64:
		id = floatKeyID(x)
	}
	if s[id] {
		return true
	}
	s[id] = true
	return false
}

// floatKeyID is the identity of a float key: -0 is 0, every NaN one.
func floatKeyID(f float64) string {
	switch {
	case f == 0:
		f = 0
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatUint(math.Float64bits(f), 16)
}
