package main

import (
	"os"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
)

// TestReadOnlyCredentials: credentials with a read-only policy read the
// latest snapshot, older snapshots (without a lease, said once on
// stderr) and the metadata tables; every write fails with one line.
func TestReadOnlyCredentials(t *testing.T) {
	bucket := s3test.NewStore(t).Config().Bucket
	rw := s3secEnv(bucket)
	mustSilt(t, rw, "", "sql", "CREATE DATABASE shop; CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, v STRING)")
	mustSilt(t, rw, "", "sql", "INSERT INTO shop.orders VALUES (1, 'a'), (2, 'b')")
	mustSilt(t, rw, "", "sql", "INSERT INTO shop.orders VALUES (3, 'c')")
	before := s3test.Encryptions(t, bucket)

	ro := s3secEnv(bucket, s3test.AssumeRole(t, s3test.ReadOnlyPolicy(bucket)).Env()...)
	r := silt(t, ro, "", "--format", "csv", "sql", "SELECT id, v FROM shop.orders VERSION AS OF 1 ORDER BY id")
	if r.code != 0 || r.stdout != "id,v\n1,a\n2,b\n" {
		t.Fatalf("time travel: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	const notice = "table shop.orders: reading snapshot 1 without a lease: the credentials cannot write; expiry may remove it while it is read"
	if n := strings.Count(r.stderr, notice); n != 1 {
		t.Errorf("time travel: the notice appears %d times, want once:\n%s", n, r.stderr)
	}
	if out := mustSilt(t, ro, "", "--format", "csv", "sql", "SELECT id, v FROM shop.orders ORDER BY id"); out != "id,v\n1,a\n2,b\n3,c\n" {
		t.Errorf("latest:\n%s", out)
	}
	if out := mustSilt(t, ro, "", "--format", "csv", "sql", "SELECT snapshot_id FROM shop.orders$snapshots ORDER BY snapshot_id"); out != "snapshot_id\n1\n2\n" {
		t.Errorf("$snapshots:\n%s", out)
	}
	if out := mustSilt(t, ro, "", "lifecycle", "show", "shop.orders"); !strings.Contains(out, "2 snapshots") {
		t.Errorf("lifecycle show:\n%s", out)
	}
	rows := t.TempDir() + "/rows.jsonl"
	if err := os.WriteFile(rows, []byte(`{"id":5,"v":"e"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		args []string
	}{
		{"insert", []string{"sql", "INSERT INTO shop.orders VALUES (4, 'd')"}},
		{"delete", []string{"sql", "DELETE FROM shop.orders WHERE id = 1"}},
		{"create", []string{"sql", "CREATE TABLE shop.t2 (id BIGINT PRIMARY KEY)"}},
		{"load", []string{"load", "shop.orders", rows}},
		{"compact", []string{"compact", "shop.orders", "--full"}},
	} {
		r := silt(t, ro, "", tc.args...)
		oneLineError(t, tc.what, r, "access denied")
	}
	// Nothing was written, and no lease is left behind.
	after := s3test.Encryptions(t, bucket)
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("read-only runs wrote %s", k)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d objects before, %d after", len(before), len(after))
	}
}
