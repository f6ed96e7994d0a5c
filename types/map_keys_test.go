package types

import (
	"math"
	"testing"
)

// TestMapKeySet: keys repeat exactly when Compare says they are equal.
func TestMapKeySet(t *testing.T) {
	s := MapKeySet{}
	for _, c := range []struct {
		k    Value
		kt   DataType
		seen bool
	}{
		{0.0, TDouble, false}, {math.Copysign(0, -1), TDouble, true}, {math.NaN(), TDouble, false},
		{-math.NaN(), TDouble, true}, {1.5, TDouble, false}, {float32(2.5), TFloat, false}, {float32(2.5), TFloat, true},
		{"a", TString, false}, {"A", TString, false}, {"a", TString, true}, {int32(7), TInt, false}, {int32(7), TInt, true},
	} {
		if got := s.Seen(c.k, c.kt); got != c.seen {
			t.Errorf("Seen(%v %s) = %v, want %v", c.k, c.kt, got, c.seen)
		}
	}
	for _, pair := range [][2]Value{{0.0, math.Copysign(0, -1)}, {math.NaN(), -math.NaN()}} {
		if Compare(pair[0], pair[1]) != 0 {
			t.Errorf("Compare(%v, %v) != 0: the set's identity no longer follows Compare", pair[0], pair[1])
		}
	}
}
