package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
)

// TestWebIdentity: with AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (and
// no keys), silt exchanges the token for credentials at the STS of
// AWS_ENDPOINT_URL_STS: here a MinIO of the test's own that trusts an
// in-test OpenID provider. The token's policy is what silt may do.
func TestWebIdentity(t *testing.T) {
	oidc := s3test.NewOIDC(t)
	ep := s3test.StartMinIO(t, oidc.ServerEnv()...)
	ctx := context.Background()
	root, err := objstore.NewS3(ctx, objstore.S3Config{Endpoint: ep, Region: "us-east-1", Bucket: "silt-webid", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile := func(name, policy string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(oidc.Token("ann", policy, time.Hour)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := func(token string) []string {
		return []string{
			"SILT_WAREHOUSE=s3://silt-webid/wh", "SILT_S3_ENDPOINT=" + ep, "SILT_S3_INSECURE=true",
			"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
			"AWS_EC2_METADATA_DISABLED=true",
			"AWS_ROLE_ARN=arn:minio:iam:::role/silt", // MinIO's claim-based provider ignores it; AWS needs one
			"AWS_WEB_IDENTITY_TOKEN_FILE=" + token,
			"AWS_ENDPOINT_URL_STS=http://" + ep,
		}
	}
	rw := env(tokenFile("rw", "readwrite"))
	mustSilt(t, rw, "", "sql", "CREATE DATABASE shop; CREATE TABLE shop.t (id BIGINT PRIMARY KEY, v STRING)")
	mustSilt(t, rw, "", "sql", "INSERT INTO shop.t VALUES (1, 'a')")
	mustSilt(t, rw, "", "sql", "INSERT INTO shop.t VALUES (2, 'b')")
	if out := mustSilt(t, rw, "", "--format", "csv", "sql", "SELECT id, v FROM shop.t ORDER BY id"); out != "id,v\n1,a\n2,b\n" {
		t.Fatalf("read back:\n%s", out)
	}
	// The token's policy is what silt may do: MinIO's readonly policy
	// (s3:GetObject, without listing) cannot even check the bucket.
	ro := env(tokenFile("ro", "readonly"))
	oneLineError(t, "readonly token", silt(t, ro, "", "sql", "INSERT INTO shop.t VALUES (3, 'c')"), "access denied")
	// A token MinIO does not trust: no credentials, said in one line.
	if err := os.WriteFile(filepath.Join(dir, "bad"), []byte("not-a-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := silt(t, env(filepath.Join(dir, "bad")), "", "sql", "SELECT 1 FROM shop.t")
	oneLineError(t, "untrusted token", r, "no S3 credentials: web identity", "AWS_WEB_IDENTITY_TOKEN_FILE", "http://"+ep)
}
