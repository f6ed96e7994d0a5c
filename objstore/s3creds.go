package objstore

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/siltdb/silt/types"
)

// credentialChain returns the AWS credential chain, in the order of the
// AWS SDKs:
//
//  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN;
//  2. the shared credentials file: cfg.CredentialsFile, else
//     AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials (with
//     ~/.aws/config, or AWS_CONFIG_FILE), profile cfg.Profile, else
//     AWS_PROFILE, else "default";
//  3. web identity: AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (EKS);
//  4. the container role (ECS: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
//     _FULL_URI), else the EC2 instance role from the metadata service,
//     unless AWS_EC2_METADATA_DISABLED=true.
//
// The first provider that yields a key wins.
func credentialChain(cfg S3Config) *credentials.Credentials {
	providers := []credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{Filename: cfg.CredentialsFile, Profile: cfg.Profile},
	}
	if roleProviderEnabled() {
		providers = append(providers, &credentials.IAM{Client: roleClient(), Endpoint: stsEndpoint()})
	}
	return credentials.NewChainCredentials(providers)
}

// stsEndpoint is the STS endpoint that web identity exchanges its token
// at: AWS_ENDPOINT_URL_STS (an S3-compatible service's own STS, e.g.
// MinIO's), else "" (AWS STS of AWS_REGION). It applies only with
// AWS_WEB_IDENTITY_TOKEN_FILE: the IAM provider would otherwise use it
// for the container and instance roles too.
func stsEndpoint() string {
	if os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") == "" {
		return ""
	}
	return strings.TrimSuffix(os.Getenv("AWS_ENDPOINT_URL_STS"), "/")
}

// Credentials is a source of S3 credentials that replaces the AWS chain
// for one store (S3Config.Credentials): a cold tier with its own keys.
// Printing it names where the keys came from, never a key.
type Credentials struct {
	from     string
	provider credentials.Provider
}

// StaticCredentials are fixed keys; from names where they came from
// (e.g. "SILT_COLD_AWS_ACCESS_KEY_ID"), for messages.
func StaticCredentials(from, accessKey, secretKey, sessionToken string) *Credentials {
	return &Credentials{from: from, provider: &credentials.Static{Value: credentials.Value{
		AccessKeyID: accessKey, SecretAccessKey: secretKey, SessionToken: sessionToken,
		SignerType: credentials.SignatureV4,
	}}}
}

// ProfileCredentials read a profile of the shared credentials file
// (file "" : AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials with
// ~/.aws/config).
func ProfileCredentials(file, profile string) *Credentials {
	from := "profile " + profile
	if file != "" {
		from += " of " + file
	}
	return &Credentials{from: from, provider: &credentials.FileAWSCredentials{Filename: file, Profile: profile}}
}

// String names where the credentials come from.
func (c *Credentials) String() string { return c.from }

// roleProviderEnabled reports whether step 3 or 4 of the chain applies:
// always, unless the metadata service is disabled and neither web
// identity nor a container role is configured.
func roleProviderEnabled() bool {
	if !strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return true
	}
	for _, k := range []string{"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// roleClient is the HTTP client of the role providers. Its short connect
// timeout keeps a machine that is not on EC2 from waiting long on the
// metadata address.
func roleClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: time.Second}).DialContext
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// resolveCredentials builds the chain and checks that it yields
// credentials now, so that a missing or misnamed profile fails at start
// with a message naming where silt looked. Provider errors are not
// printed: one parsing a credentials file could quote it.
func resolveCredentials(ctx context.Context, cfg S3Config) (*credentials.Credentials, error) {
	creds := credentialChain(cfg)
	if cfg.Credentials != nil {
		creds = credentials.New(cfg.Credentials.provider)
	}
	v, err := creds.GetWithContext(&credentials.CredContext{Context: ctx})
	if err == nil && !v.SignerType.IsAnonymous() && v.AccessKeyID != "" && v.SecretAccessKey != "" {
		return creds, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if cfg.Credentials != nil {
		return nil, fmt.Errorf("%w: no S3 credentials in %s (for s3://%s)", types.ErrInvalid, cfg.Credentials, cfg.Bucket)
	}
	if tf := os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"); tf != "" && roleProviderEnabled() {
		sts := stsEndpoint()
		if sts == "" {
			sts = "AWS STS (AWS_ENDPOINT_URL_STS sets another)"
		}
		return nil, fmt.Errorf("%w: no S3 credentials: web identity (AWS_ROLE_ARN %q, token file AWS_WEB_IDENTITY_TOKEN_FILE %s) got none from %s: check that the token is current and that the STS trusts its issuer and role", types.ErrInvalid, os.Getenv("AWS_ROLE_ARN"), tf, sts)
	}
	file := cfg.CredentialsFile
	if file == "" {
		file = os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	}
	if file == "" {
		file = filepath.Join("~", ".aws", "credentials")
	}
	profile, from := cfg.Profile, "profile"
	if profile == "" {
		profile, from = os.Getenv("AWS_PROFILE"), "AWS_PROFILE"
	}
	if profile != "" && profile != "default" {
		return nil, fmt.Errorf("%w: no S3 credentials: %s %q has no aws_access_key_id and aws_secret_access_key in %s (or the AWS config file); check the profile name, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", types.ErrInvalid, from, profile, file)
	}
	return nil, fmt.Errorf("%w: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put them in the [default] profile of %s (AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE choose another file or profile), or use a web-identity, container or instance role", types.ErrInvalid, file)
}
