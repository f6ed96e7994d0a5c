package objstore_test

import (
	"errors"
	"testing"

	"github.com/siltdb/silt/objstore"
)

// Nth counts every matching call, including ones an earlier rule fired on.
func TestFaultNthCountsEveryMatchingCall(t *testing.T) {
	mem := objstore.NewMem()
	mem.Put(t.Context(), "k", []byte("x"))
	f := objstore.NewFault(mem)
	first, third := errors.New("first"), errors.New("third")
	f.Add(objstore.Rule{Op: objstore.OpGet, Nth: 1, Err: first})
	f.Add(objstore.Rule{Op: objstore.OpGet, Nth: 3, Err: third})
	var got []error
	for range 4 {
		_, _, err := f.Get(t.Context(), "k")
		got = append(got, err)
	}
	if got[0] != first || got[1] != nil || got[2] != third || got[3] != nil {
		t.Fatalf("errors of calls 1-4 = %v, want [first <nil> third <nil>]", got)
	}
}
