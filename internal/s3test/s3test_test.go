package s3test_test

import (
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
)

// recorder stops a helper the way Fatal and Skip do, recording which.
type recorder struct {
	testing.TB
	how, msg string
}

type stopped struct{}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.how, r.msg = "fatal", toString(args)
	panic(stopped{})
}
func (r *recorder) Skip(args ...any) {
	r.how, r.msg = "skip", toString(args)
	panic(stopped{})
}

func toString(args []any) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a.(string))
	}
	return b.String()
}

func endpointOutcome(t *testing.T) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != (stopped{}) {
				panic(p)
			}
		}()
		s3test.Endpoint(r)
	}()
	return r
}

func TestEndpointWithoutServer(t *testing.T) {
	t.Setenv(s3test.EndpointEnv, "")
	t.Setenv("CI", "")
	if r := endpointOutcome(t); r.how != "skip" || !strings.Contains(r.msg, "scripts/test.sh") {
		t.Fatalf("outside CI: %s %q, want a skip pointing at scripts/test.sh", r.how, r.msg)
	}
	t.Setenv("CI", "true")
	if r := endpointOutcome(t); r.how != "fatal" || !strings.Contains(r.msg, "scripts/test.sh") {
		t.Fatalf("under CI: %s %q, want a failure pointing at scripts/test.sh", r.how, r.msg)
	}
	t.Setenv(s3test.EndpointEnv, "127.0.0.1:9")
	if r := endpointOutcome(t); r.how != "" {
		t.Fatalf("with an endpoint: %s %q", r.how, r.msg)
	}
}

func TestNewStoreGivesAFreshBucket(t *testing.T) {
	a, b := s3test.NewStore(t), s3test.NewStore(t)
	if a.Config().Bucket == b.Config().Bucket {
		t.Fatalf("two stores share bucket %s", a.Config().Bucket)
	}
	if _, err := a.Put(t.Context(), "k", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if objs, err := b.List(t.Context(), ""); err != nil || len(objs) != 0 {
		t.Fatalf("fresh bucket lists %v, %v", objs, err)
	}
}
