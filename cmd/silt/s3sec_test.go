package main

import (
	"os"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
)

// s3secEnv points silt at the test MinIO.
func s3secEnv(bucket string, more ...string) []string {
	return append([]string{
		"SILT_WAREHOUSE=s3://" + bucket + "/wh",
		"SILT_S3_ENDPOINT=" + os.Getenv(s3test.EndpointEnv),
		"SILT_S3_INSECURE=true",
	}, more...)
}

const tieredTable = "CREATE DATABASE shop; CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, v STRING) " +
	"WITH ('snapshot.num-retained.min' = '10', 'tier.min-level' = '0')"

// oneLineError checks a failed run: exit 1, an error of one line on
// stderr (after any progress lines) holding every want, and no stack
// trace.
func oneLineError(t *testing.T, what string, r result, want ...string) {
	t.Helper()
	msg := strings.TrimRight(r.stderr, "\n")
	if i := strings.LastIndex(msg, "\nsilt: "); i >= 0 && strings.HasPrefix(msg, "\r") && !strings.Contains(msg[:i], "\n") {
		msg = msg[i+1:] // a progress bar (\r-redrawn, one line) comes first
	}
	if r.code != 1 || strings.Contains(msg, "\n") || strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
		t.Errorf("%s: exit %d, stderr %q; want exit 1 and one line", what, r.code, r.stderr)
		return
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: stderr %q lacks %q", what, msg, w)
		}
	}
}

// TestS3SSEWarehouse: with SILT_S3_SSE every object silt writes, in the
// warehouse and in the cold tier, is encrypted as asked, and reads back.
func TestS3SSEWarehouse(t *testing.T) {
	key := s3test.KMSKey(t)
	for _, tc := range []struct {
		name    string
		env     []string
		wantAlg string
	}{
		{"sse-s3", []string{"SILT_S3_SSE=s3"}, "AES256"},
		{"sse-kms", []string{"SILT_S3_SSE=KMS", "SILT_S3_SSE_KMS_KEY_ID=" + key, `SILT_S3_SSE_KMS_CONTEXT={"app":"silt"}`}, "aws:kms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hot := s3test.NewStore(t).Config().Bucket
			cold := s3test.NewStore(t).Config().Bucket
			env := s3secEnv(hot, append(tc.env, "SILT_COLD_URI=s3://"+cold+"/cold")...)
			mustSilt(t, env, "", "sql", tieredTable)
			mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (1, 'a'), (2, 'b')")
			mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (3, 'c')")
			mustSilt(t, env, "", "maintain", "shop.orders")
			out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT id, v FROM shop.orders ORDER BY id; SELECT COUNT(*) AS n FROM shop.orders VERSION AS OF 1")
			if want := "id,v\n1,a\n2,b\n3,c\nn\n2\n"; out != want {
				t.Fatalf("read back:\n%s\nwant:\n%s", out, want)
			}
			for _, b := range []string{hot, cold} {
				objs := s3test.Encryptions(t, b)
				if len(objs) == 0 {
					t.Fatalf("bucket %s is empty: nothing tiered?", b)
				}
				for k, e := range objs {
					if e.Alg != tc.wantAlg || (tc.wantAlg == "aws:kms" && !strings.HasSuffix(e.KMSKey, key)) {
						t.Errorf("%s/%s: encryption %+v, want %s", b, k, e, tc.wantAlg)
					}
				}
			}
		})
	}
}

// TestS3SSESettingErrors: bad encryption settings fail with one line
// naming the setting.
func TestS3SSESettingErrors(t *testing.T) {
	s3test.KMSKey(t)
	bucket := s3test.NewStore(t).Config().Bucket
	mustSilt(t, s3secEnv(bucket), "", "sql", "CREATE DATABASE shop")
	for _, tc := range []struct {
		env  []string
		sql  string
		want []string
	}{
		{[]string{"SILT_S3_SSE=aes"}, "SELECT 1", []string{"SILT_S3_SSE", `"aes"`, "want s3", "kms"}},
		{[]string{"SILT_S3_SSE_KMS_KEY_ID=k"}, "SELECT 1", []string{"SILT_S3_SSE_KMS_KEY_ID", "SILT_S3_SSE=kms"}},
		{[]string{"SILT_S3_SSE=kms", "SILT_S3_SSE_KMS_CONTEXT=team"}, "SELECT 1", []string{"SILT_S3_SSE_KMS_CONTEXT", "JSON object"}},
		{[]string{"SILT_S3_SSE=kms", "SILT_S3_SSE_KMS_KEY_ID=no-such-key"}, "CREATE TABLE shop.t (id BIGINT PRIMARY KEY)", []string{"SILT_S3_SSE_KMS_KEY_ID", "key"}},
	} {
		r := silt(t, s3secEnv(bucket, tc.env...), "", "sql", tc.sql)
		oneLineError(t, strings.Join(tc.env, " "), r, tc.want...)
	}
}
