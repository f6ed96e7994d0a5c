package objstore_test

import (
	"testing"

	"github.com/siltdb/silt/objstore"
)

func TestPrefixNamespacesKeys(t *testing.T) {
	mem := objstore.NewMem()
	for _, prefix := range []string{"t1", "/t1/", "t1/"} {
		p := objstore.NewPrefix(mem, prefix)
		info, err := p.Put(t.Context(), "a/b", []byte("x"))
		if err != nil || info.Key != "a/b" {
			t.Fatalf("Put = %+v, %v", info, err)
		}
	}
	all, _ := mem.List(t.Context(), "")
	if len(all) != 1 || all[0].Key != "t1/a/b" {
		t.Fatalf("inner store holds %+v, want just t1/a/b", all)
	}
	p := objstore.NewPrefix(mem, "")
	if _, info, err := p.Get(t.Context(), "t1/a/b"); err != nil || info.Key != "t1/a/b" {
		t.Fatalf("empty prefix Get = %+v, %v", info, err)
	}
}
