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
		providers = append(providers, &credentials.IAM{Client: roleClient()})
	}
	return credentials.NewChainCredentials(providers)
}

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
	v, err := creds.GetWithContext(&credentials.CredContext{Context: ctx})
	if err == nil && !v.SignerType.IsAnonymous() && v.AccessKeyID != "" {
		return creds, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
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
