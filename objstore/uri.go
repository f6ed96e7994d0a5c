package objstore

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/siltdb/silt/types"
)

// Store URIs (a warehouse, a cold tier, an S3 endpoint) never carry
// credentials: those come from the environment or the AWS files (see
// NewS3). CheckNoCredentials rejects a URI that holds some, and
// RedactURI is the one function that makes a URI safe to print; every
// message quoting a URI goes through it.

// redacted replaces a secret in printed text.
const redacted = "REDACTED"

// secretParams are substrings of query parameter names that carry a
// credential: keys, secrets, tokens, passwords, signatures (e.g.
// X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, access_key,
// secret, sig, token, password).
var secretParams = []string{"key", "secret", "token", "sig", "pass", "pwd", "credential", "auth"}

// isSecretParam reports whether a query parameter name looks like it
// carries a credential.
func isSecretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range secretParams {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// RedactURI returns uri with any user info ("user:secret@") and the
// values of credential-like query parameters replaced by REDACTED. Text
// without "://" (a directory) and URIs without either are returned
// unchanged. It never fails.
func RedactURI(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return uri
	}
	// Authority: up to the first '/', '?' or '#'.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	if at := strings.LastIndex(auth, "@"); at >= 0 {
		auth = redacted + "@" + auth[at+1:]
	}
	path, query, hasQuery := strings.Cut(tail, "?")
	if !hasQuery {
		return scheme + "://" + auth + tail
	}
	query, frag, hasFrag := strings.Cut(query, "#")
	parts := strings.Split(query, "&")
	for i, p := range parts {
		name, _, hasVal := strings.Cut(p, "=")
		if dn, err := url.QueryUnescape(name); err == nil {
			name = dn
		}
		if isSecretParam(name) {
			if hasVal {
				parts[i] = p[:strings.Index(p, "=")] + "=" + redacted
			}
		}
	}
	out := scheme + "://" + auth + path + "?" + strings.Join(parts, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// CheckNoCredentials rejects a URI that carries credentials: user info
// ("s3://key:secret@bucket") or a query parameter that looks like a key,
// secret, token or signature. what names the setting for the message
// ("warehouse", "tier.cold.uri"). The message quotes the URI redacted.
func CheckNoCredentials(what, uri string) error {
	if !hasCredentials(uri) {
		return nil
	}
	return fmt.Errorf("%w: %s %q must not contain credentials (user info or a key, secret, token or signature parameter): give them in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or an AWS credentials file", types.ErrInvalid, what, RedactURI(uri))
}

// hasCredentials reports whether RedactURI would change uri, or whether
// the URI's authority holds an '@' at all.
func hasCredentials(uri string) bool {
	if RedactURI(uri) != uri {
		return true
	}
	_, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return strings.Contains(rest[:end], "@")
}

// CheckStoreURI validates a store location that silt keeps or passes on
// (a warehouse, a cold tier): "s3://bucket[/prefix]" with a valid bucket,
// or a local directory. It rejects credentials (CheckNoCredentials), other
// schemes, and, when absDir is set, a relative directory (a path stored in
// a table's schema cannot mean "relative to whoever runs silt next").
// Errors quote the URI redacted.
func CheckStoreURI(what, uri string, absDir bool) error {
	if err := CheckNoCredentials(what, uri); err != nil {
		return err
	}
	switch {
	case uri == "":
		return fmt.Errorf("%w: %s is empty: give s3://bucket/prefix or a directory", types.ErrInvalid, what)
	case strings.HasPrefix(uri, "s3://"):
		if _, err := ParseS3URI(uri); err != nil {
			return fmt.Errorf("%s %q: %w", what, RedactURI(uri), err)
		}
		return nil
	case strings.Contains(uri, "://"):
		return fmt.Errorf("%w: %s %q: unsupported scheme (give s3://bucket/prefix or a directory)", types.ErrInvalid, what, RedactURI(uri))
	case strings.ContainsRune(uri, 0):
		return fmt.Errorf("%w: %s: a directory name must not contain NUL", types.ErrInvalid, what)
	case absDir && !filepath.IsAbs(uri):
		return fmt.Errorf("%w: %s %q is a relative directory: give an absolute path (a relative one would depend on the working directory of each silt process)", types.ErrInvalid, what, uri)
	}
	return nil
}
