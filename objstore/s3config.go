package objstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// S3Config locates a bucket (and an optional key prefix inside it) on an
// S3-compatible service. It deliberately holds no secret: credentials come
// from the AWS credential chain (see NewS3), so printing a config can
// never leak one.
type S3Config struct {
	// Endpoint is host[:port] of the service, without a scheme.
	// Default: "s3.amazonaws.com".
	Endpoint string
	// Region is the bucket's region. Default: AWS_REGION, then
	// AWS_DEFAULT_REGION; when all are empty the client looks it up.
	Region string
	// Bucket is required.
	Bucket string
	// Prefix namespaces every key: key k is stored as Prefix + "/" + k.
	// Leading and trailing slashes are ignored. Default: none.
	Prefix string
	// PathStyle forces path-style requests (http://host/bucket/key), which
	// MinIO and most self-hosted services need. Default: automatic.
	PathStyle bool
	// Secure selects https. Default: false (plain http).
	Secure bool
	// InsecureSkipVerify disables TLS certificate verification; for tests
	// against self-signed endpoints only. Default: false.
	InsecureSkipVerify bool
	// CredentialsFile, when set, names the AWS shared-credentials file
	// the chain reads (instead of AWS_SHARED_CREDENTIALS_FILE, else
	// ~/.aws/credentials merged with ~/.aws/config). Default: those.
	CredentialsFile string
	// Profile is the profile of the credentials file. Default:
	// AWS_PROFILE, else "default".
	Profile string
	// RequestTimeout bounds each HTTP request (attempt) together with
	// MinThroughput: a request moving n bytes must finish within
	// RequestTimeout + n/MinThroughput, or it fails with a timeout error
	// (retryable; for a conditional put, ErrAmbiguous). A listing's bound
	// restarts with each page. Default: DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MinThroughput is the slowest transfer, in bytes per second, that a
	// request's time budget allows for. Default: DefaultMinThroughput.
	MinThroughput int64
	// StorageClass is the S3 storage class of every object this store
	// puts (e.g. STANDARD_IA, GLACIER_IR: a cold tier). Default: the
	// bucket's default (STANDARD).
	StorageClass string
	// SSE encrypts every object the store writes (puts, conditional puts,
	// multipart uploads): "" (the bucket's default encryption), SSES3 or
	// SSEKMS. Reads need nothing: the service decrypts.
	SSE string
	// SSEKMSKeyID is the KMS key of SSE-KMS. Default: the service's
	// default KMS key (on AWS, aws/s3).
	SSEKMSKeyID string
	// SSEKMSContext is the optional SSE-KMS encryption context: a JSON
	// object of string values (ParseSSEKMSContext).
	SSEKMSContext string
	// Credentials, when set, is the store's only source of credentials:
	// the AWS credential chain is not consulted (a cold tier's own keys).
	// Default: the chain.
	Credentials *Credentials
}

const defaultS3Endpoint = "s3.amazonaws.com"

// Defaults of S3Config.RequestTimeout and MinThroughput: a request of
// n bytes gets 15s + n / 1 MiB/s (a 64 MiB data file: 79s).
const (
	DefaultRequestTimeout = 15 * time.Second
	DefaultMinThroughput  = 1 << 20
)

// requestTimeout returns the time budget of a request moving n bytes.
func (c S3Config) requestTimeout(n int64) time.Duration {
	base, tp := c.RequestTimeout, c.MinThroughput
	if base <= 0 {
		base = DefaultRequestTimeout
	}
	if tp <= 0 {
		tp = DefaultMinThroughput
	}
	if n <= 0 {
		return base
	}
	return base + time.Duration(float64(n)/float64(tp)*float64(time.Second))
}

// String describes the config. It holds no secret, so neither does this.
func (c S3Config) String() string {
	scheme := "http"
	if c.Secure {
		scheme = "https"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "s3://%s", c.Bucket)
	if p := normPrefix(c.Prefix); p != "" {
		fmt.Fprintf(&b, "/%s", strings.TrimSuffix(p, "/"))
	}
	fmt.Fprintf(&b, " (endpoint %s://%s", scheme, c.endpoint())
	if c.Region != "" {
		fmt.Fprintf(&b, ", region %s", c.Region)
	}
	if c.PathStyle {
		b.WriteString(", path-style")
	}
	if c.InsecureSkipVerify {
		b.WriteString(", tls-unverified")
	}
	if c.CredentialsFile != "" {
		fmt.Fprintf(&b, ", credentials file %s", c.CredentialsFile)
	}
	if c.Profile != "" {
		fmt.Fprintf(&b, ", profile %s", c.Profile)
	}
	if c.StorageClass != "" {
		fmt.Fprintf(&b, ", storage class %s", c.StorageClass)
	}
	switch c.SSE {
	case SSES3:
		b.WriteString(", sse-s3")
	case SSEKMS:
		b.WriteString(", sse-kms")
		if c.SSEKMSKeyID != "" {
			fmt.Fprintf(&b, " key %s", c.SSEKMSKeyID)
		}
	}
	if c.Credentials != nil {
		fmt.Fprintf(&b, ", credentials from %s", c.Credentials)
	}
	b.WriteString(")")
	return b.String()
}

func (c S3Config) endpoint() string {
	if c.Endpoint == "" {
		return defaultS3Endpoint
	}
	return c.Endpoint
}

// validate checks the fields NewS3 relies on.
func (c S3Config) validate() error {
	if err := validateBucket(c.Bucket); err != nil {
		return err
	}
	if strings.Contains(c.Endpoint, "://") || strings.ContainsAny(c.Endpoint, "/@?#") {
		// Not quoted: it may hold user info.
		return fmt.Errorf("%w: s3 endpoint must be host[:port] without scheme, path or user info (see ParseEndpoint)", types.ErrInvalid)
	}
	if c.RequestTimeout < 0 || c.MinThroughput < 0 {
		return fmt.Errorf("%w: s3 request timeout and min throughput must not be negative", types.ErrInvalid)
	}
	if p := normPrefix(c.Prefix); p != "" {
		if err := validatePrefixPath(strings.TrimSuffix(p, "/")); err != nil {
			return err
		}
	}
	if err := validateStorageClass(c.StorageClass); err != nil {
		return err
	}
	return c.validateSSE()
}

// validateStorageClass accepts "" or A-Z, 0-9 and '_' (STANDARD_IA, ...).
func validateStorageClass(sc string) error {
	for i := 0; i < len(sc); i++ {
		c := sc[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return fmt.Errorf("%w: s3 storage class %q may only hold A-Z, 0-9 and '_'", types.ErrInvalid, sc)
		}
	}
	return nil
}

// normPrefix turns "a/b", "/a/b/" into "a/b/" and "", "/" into "".
func normPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// ParseS3URI parses "s3://bucket" or "s3://bucket/some/prefix" into a
// config with Bucket and Prefix set; the caller fills in the rest. User
// info (credentials) in the URI is rejected, and error messages never
// echo the part of the URI that could hold it.
//
// An optional "?storage-class=CLASS" suffix sets StorageClass (how a cold
// tier's URI carries the tier.cold.storage-class option).
func ParseS3URI(uri string) (S3Config, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return S3Config{}, fmt.Errorf("%w: s3 URI must start with s3://", types.ErrInvalid)
	}
	if rest == "" || rest[0] == '/' || rest[0] == '?' {
		return S3Config{}, fmt.Errorf("%w: s3 URI names no bucket: give s3://bucket or s3://bucket/prefix", types.ErrInvalid)
	}
	storageClass := ""
	if r, q, ok := strings.Cut(rest, "?"); ok {
		sc, ok := strings.CutPrefix(q, "storage-class=")
		if !ok || sc == "" {
			return S3Config{}, fmt.Errorf("%w: s3 URI: the only query parameter is storage-class=CLASS", types.ErrInvalid)
		}
		if err := validateStorageClass(sc); err != nil {
			return S3Config{}, err
		}
		rest, storageClass = r, sc
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if strings.Contains(bucket, "@") || strings.Contains(bucket, ":") {
		// Never print it: it may be "key:secret@bucket".
		return S3Config{}, fmt.Errorf("%w: s3 URI must not contain credentials or a port; use the environment", types.ErrInvalid)
	}
	if err := validateBucket(bucket); err != nil {
		return S3Config{}, err
	}
	if prefix != "" { // "s3://bucket/" has none; "s3://bucket//" is malformed
		prefix = strings.TrimSuffix(prefix, "/")
		if err := validatePrefixPath(prefix); err != nil {
			return S3Config{}, err
		}
	}
	return S3Config{Bucket: bucket, Prefix: prefix, StorageClass: storageClass}, nil
}

// validatePrefixPath accepts '/'-separated non-empty segments other than
// "." and "..", without NUL, backslash, '?' or '#'.
func validatePrefixPath(p string) error {
	if strings.ContainsAny(p, "\x00\\?#") {
		return fmt.Errorf("%w: s3 prefix %q contains NUL, '\\', '?' or '#'", types.ErrInvalid, p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: s3 prefix %q has an empty, '.' or '..' segment", types.ErrInvalid, p)
		}
	}
	return nil
}

// validateBucket applies the S3 bucket naming rules: 3-63 characters of
// lowercase letters, digits, '.' and '-', starting and ending with a
// letter or digit, without "..".
func validateBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("%w: s3 bucket name %q must be 3-63 characters", types.ErrInvalid, b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && c != '.' && c != '-' {
			return fmt.Errorf("%w: s3 bucket name %q may only hold a-z, 0-9, '.' and '-'", types.ErrInvalid, b)
		}
		if !alnum && (i == 0 || i == len(b)-1) {
			return fmt.Errorf("%w: s3 bucket name %q must start and end with a letter or digit", types.ErrInvalid, b)
		}
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("%w: s3 bucket name %q must not contain \"..\"", types.ErrInvalid, b)
	}
	return nil
}

// ParseEndpoint splits an S3 endpoint given as "host[:port]" or as
// "http(s)://host[:port]" (the form of AWS_ENDPOINT_URL_S3) into the host
// and, when a scheme was given, whether it is https. A path other than
// "/", user info, a query or another scheme is an error; errors quote the
// endpoint redacted.
func ParseEndpoint(ep string) (host string, secure, hasScheme bool, err error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: s3 endpoint %q: %s (give host:port or http(s)://host:port)", types.ErrInvalid, RedactURI(ep), why)
	}
	scheme, rest, ok := strings.Cut(ep, "://")
	if !ok {
		lower := strings.ToLower(ep)
		for _, sch := range []string{"https:", "http:"} {
			if strings.HasPrefix(lower, sch) && !strings.ContainsAny(ep, "@?#") {
				host := strings.TrimLeft(ep[len(sch):], "/")
				return "", false, false, fmt.Errorf("%w: s3 endpoint %q: did you mean %s//%s?", types.ErrInvalid, ep, sch, host)
			}
		}
		if strings.ContainsAny(ep, "/@?#") {
			// Not quoted: without a scheme RedactURI cannot find user info.
			return "", false, false, fmt.Errorf("%w: s3 endpoint: unexpected '/', '@', '?' or '#' (give host:port or http(s)://host:port)", types.ErrInvalid)
		}
		return ep, false, false, nil
	}
	switch strings.ToLower(scheme) {
	case "http":
	case "https":
		secure = true
	default:
		return "", false, false, bad("the scheme must be http or https")
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return "", false, false, bad("no host")
	}
	if strings.Contains(rest, "/") && !strings.ContainsAny(rest, "@?#") {
		return "", false, false, bad("it must not hold a path: the bucket and prefix go in the warehouse URI, s3://bucket/prefix")
	}
	if strings.ContainsAny(rest, "/@?#") {
		return "", false, false, bad("it must not hold a path, user info, a query or a fragment")
	}
	return rest, secure, true, nil
}
