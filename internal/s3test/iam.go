package s3test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// KMSKeyEnv names the variable holding the name of the test server's KMS
// key (scripts/test.sh starts MinIO with a static KMS key).
const KMSKeyEnv = "SILT_TEST_S3_KMS_KEY"

// KMSKey returns the name of the test server's KMS key, skipping the test
// (or failing it under CI) when the server has none.
func KMSKey(t testing.TB) string {
	t.Helper()
	Endpoint(t)
	k := os.Getenv(KMSKeyEnv)
	if k == "" {
		const msg = KMSKeyEnv + " is not set: run the tests with scripts/test.sh, which starts MinIO with a KMS key"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return k
}

// Keys are S3 credentials.
type Keys struct {
	AccessKey, SecretKey, SessionToken string
}

// Env returns the keys as AWS_* variables.
func (k Keys) Env() []string {
	return k.EnvAs("AWS_")
}

// EnvAs returns the keys as PREFIXACCESS_KEY_ID, PREFIXSECRET_ACCESS_KEY
// and PREFIXSESSION_TOKEN (prefix "AWS_" or "SILT_COLD_AWS_").
func (k Keys) EnvAs(prefix string) []string {
	return []string{prefix + "ACCESS_KEY_ID=" + k.AccessKey, prefix + "SECRET_ACCESS_KEY=" + k.SecretKey, prefix + "SESSION_TOKEN=" + k.SessionToken}
}

// ReadOnlyPolicy allows reading and listing the buckets, nothing else.
func ReadOnlyPolicy(buckets ...string) string {
	return policy([]string{"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}, buckets)
}

// ReadWritePolicy allows every S3 action on the buckets, nothing on any
// other bucket.
func ReadWritePolicy(buckets ...string) string {
	return policy([]string{"s3:*"}, buckets)
}

func policy(actions, buckets []string) string {
	var res []string
	for _, b := range buckets {
		res = append(res, `"arn:aws:s3:::`+b+`"`, `"arn:aws:s3:::`+b+`/*"`)
	}
	q := func(ss []string) string { return strings.Join(ss, ",") }
	var acts []string
	for _, a := range actions {
		acts = append(acts, `"`+a+`"`)
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` + q(acts) + `],"Resource":[` + q(res) + `]}]}`
}

// AssumeRole returns temporary credentials of the test server restricted
// by the session policy (ReadOnlyPolicy, ReadWritePolicy): a MinIO
// identity that may do only what the policy allows. They come from
// MinIO's STS AssumeRole, called with the server's root credentials
// (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), and last an hour.
func AssumeRole(t testing.TB, policy string) Keys {
	t.Helper()
	ep := Endpoint(t)
	p, err := credentials.NewSTSAssumeRole("http://"+ep, credentials.STSAssumeRoleOptions{
		AccessKey:       os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:       os.Getenv("AWS_SECRET_ACCESS_KEY"),
		Policy:          policy,
		Location:        "us-east-1",
		DurationSeconds: int(time.Hour / time.Second),
	})
	if err != nil {
		t.Fatalf("s3test: assume role: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := p.GetWithContext(&credentials.CredContext{Context: ctx})
	if err != nil {
		t.Fatalf("s3test: assume role: %v", err)
	}
	if v.AccessKeyID == "" || v.SessionToken == "" {
		t.Fatal("s3test: assume role returned no temporary credentials")
	}
	return Keys{AccessKey: v.AccessKeyID, SecretKey: v.SecretAccessKey, SessionToken: v.SessionToken}
}

// Encryption is the server-side encryption the service reports for an
// object: the algorithm ("AES256", "aws:kms"; "" for none) and KMS key.
type Encryption struct{ Alg, KMSKey string }

// Encryptions returns the encryption of every object in the bucket,
// by key, read with the server's root credentials.
func Encryptions(t testing.TB, bucket string) map[string]Encryption {
	t.Helper()
	c, err := minio.New(Endpoint(t), &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		Region: "us-east-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := map[string]Encryption{}
	for oi := range c.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if oi.Err != nil {
			t.Fatalf("s3test: list %s: %v", bucket, oi.Err)
		}
		st, err := c.StatObject(ctx, bucket, oi.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("s3test: stat %s/%s: %v", bucket, oi.Key, err)
		}
		out[oi.Key] = Encryption{st.Metadata.Get("X-Amz-Server-Side-Encryption"), st.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")}
	}
	return out
}
