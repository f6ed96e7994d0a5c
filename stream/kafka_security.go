package stream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// KafkaSecurity is how silt authenticates to Kafka and encrypts the
// connection: SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER) and
// TLS. The sink, its dead-letter producer and the export all build their
// client options from it (ClientOpts). The password is never a config key
// or flag: it comes from SILT_KAFKA_SASL_PASSWORD or sasl-password-file.
type KafkaSecurity struct {
	SASLMechanism      string `json:"sasl-mechanism,omitempty" yaml:"sasl-mechanism"`
	SASLUsername       string `json:"sasl-username,omitempty" yaml:"sasl-username"`
	SASLPasswordFile   string `json:"sasl-password-file,omitempty" yaml:"sasl-password-file"`
	SASLOAuthTokenFile string `json:"sasl-oauth-token-file,omitempty" yaml:"sasl-oauth-token-file"`
	// SASLPassword comes only from the environment; it prints redacted.
	SASLPassword  Secret `json:"-" yaml:"-"`
	TLS           bool   `json:"tls,omitempty" yaml:"tls"`
	TLSCAFile     string `json:"tls-ca-file,omitempty" yaml:"tls-ca-file"`
	TLSCertFile   string `json:"tls-cert-file,omitempty" yaml:"tls-cert-file"`
	TLSKeyFile    string `json:"tls-key-file,omitempty" yaml:"tls-key-file"`
	TLSServerName string `json:"tls-server-name,omitempty" yaml:"tls-server-name"`
}

// Secret is a string that never prints.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

// SASL mechanisms.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
	SASLOAuthBearer = "OAUTHBEARER"
)

// maxSecretFileBytes bounds a password or token file.
const maxSecretFileBytes = 64 << 10

// ParseSASLMechanism normalizes a mechanism name (case-insensitive; ""
// is none).
func ParseSASLMechanism(v string) (string, error) {
	m := strings.ToUpper(strings.TrimSpace(v))
	switch m {
	case "", SASLPlain, SASLScramSHA256, SASLScramSHA512, SASLOAuthBearer:
		return m, nil
	}
	return "", fmt.Errorf("%w: sasl-mechanism %q (want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)", types.ErrInvalid, v)
}

// WithEnv returns c with the SILT_KAFKA_* environment variables applied
// (a set variable wins over the config key).
func (c KafkaSecurity) WithEnv(getenv func(string) string) (KafkaSecurity, error) {
	if getenv == nil {
		return c, nil
	}
	for _, e := range []struct {
		name string
		dst  *string
	}{
		{"SILT_KAFKA_SASL_MECHANISM", &c.SASLMechanism},
		{"SILT_KAFKA_SASL_USERNAME", &c.SASLUsername},
		{"SILT_KAFKA_SASL_PASSWORD_FILE", &c.SASLPasswordFile},
		{"SILT_KAFKA_SASL_OAUTH_TOKEN_FILE", &c.SASLOAuthTokenFile},
		{"SILT_KAFKA_TLS_CA_FILE", &c.TLSCAFile},
		{"SILT_KAFKA_TLS_CERT_FILE", &c.TLSCertFile},
		{"SILT_KAFKA_TLS_KEY_FILE", &c.TLSKeyFile},
		{"SILT_KAFKA_TLS_SERVER_NAME", &c.TLSServerName},
	} {
		if v := getenv(e.name); v != "" {
			*e.dst = v
		}
	}
	if v := getenv("SILT_KAFKA_SASL_PASSWORD"); v != "" {
		c.SASLPassword = Secret(v)
	}
	if v := strings.TrimSpace(getenv("SILT_KAFKA_TLS")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%w: SILT_KAFKA_TLS %q is not true or false", types.ErrInvalid, v)
		}
		c.TLS = b
	}
	return c, c.Validate()
}

// Validate checks what can be checked without reading files. A missing
// password is reported by ClientOpts (it may come from the environment).
func (c KafkaSecurity) Validate() error {
	m, err := ParseSASLMechanism(c.SASLMechanism)
	if err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: kafka security: %s", types.ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case m == "" && (c.SASLUsername != "" || c.SASLPasswordFile != "" || c.SASLOAuthTokenFile != ""):
		return bad("sasl-username, sasl-password-file and sasl-oauth-token-file need sasl-mechanism")
	case m == SASLOAuthBearer && c.SASLOAuthTokenFile == "":
		return bad("sasl-mechanism OAUTHBEARER needs sasl-oauth-token-file")
	case m == SASLOAuthBearer && (c.SASLUsername != "" || c.SASLPasswordFile != ""):
		return bad("sasl-mechanism OAUTHBEARER takes a token file, not a user name or password")
	case m != "" && m != SASLOAuthBearer && c.SASLUsername == "":
		return bad("sasl-mechanism %s needs sasl-username (or SILT_KAFKA_SASL_USERNAME)", m)
	case m != "" && m != SASLOAuthBearer && c.SASLOAuthTokenFile != "":
		return bad("sasl-oauth-token-file needs sasl-mechanism OAUTHBEARER, not %s", m)
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return bad("tls-cert-file and tls-key-file go together (a client certificate needs its key)")
	case !c.TLS && (c.TLSCAFile != "" || c.TLSCertFile != "" || c.TLSServerName != ""):
		return bad("the tls-* keys need tls: true (or SILT_KAFKA_TLS=true)")
	}
	return nil
}

// Enabled reports whether any SASL or TLS is configured.
func (c KafkaSecurity) Enabled() bool { return c.SASLMechanism != "" || c.TLS }

// ClientOpts are the franz-go options for c: a SASL mechanism and a TLS
// dialer. It reads the password, CA and certificate files; the OAuth token
// file is read each time the client authenticates (so a refreshed token is
// picked up).
func (c KafkaSecurity) ClientOpts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	m, _ := ParseSASLMechanism(c.SASLMechanism)
	if m != "" {
		mech, err := c.mechanism(m)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(mech))
	}
	if c.TLS {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	return opts, nil
}

func (c KafkaSecurity) mechanism(m string) (sasl.Mechanism, error) {
	if m == SASLOAuthBearer {
		path := c.SASLOAuthTokenFile
		if _, err := readSecretFile("sasl-oauth-token-file", path); err != nil {
			return nil, err
		}
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			tok, err := readSecretFile("sasl-oauth-token-file", path)
			return oauth.Auth{Token: tok}, err
		}), nil
	}
	pass := string(c.SASLPassword)
	if c.SASLPasswordFile != "" && pass == "" {
		var err error
		if pass, err = readSecretFile("sasl-password-file", c.SASLPasswordFile); err != nil {
			return nil, err
		}
	}
	if pass == "" {
		return nil, fmt.Errorf("%w: kafka security: sasl-mechanism %s needs a password: set SILT_KAFKA_SASL_PASSWORD or sasl-password-file", types.ErrInvalid, m)
	}
	switch m {
	case SASLPlain:
		return plain.Auth{User: c.SASLUsername, Pass: pass}.AsMechanism(), nil
	case SASLScramSHA256:
		return scram.Auth{User: c.SASLUsername, Pass: pass}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: c.SASLUsername, Pass: pass}.AsSha512Mechanism(), nil
	}
}

// readSecretFile reads a password or token file, without its trailing
// newline. Errors name the file, never its content.
func readSecretFile(key, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: kafka security: %s: %w", types.ErrInvalid, key, err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("%w: kafka security: %s %s: %w", types.ErrInvalid, key, path, err)
	}
	if len(buf) > maxSecretFileBytes {
		return "", fmt.Errorf("%w: kafka security: %s %s is larger than %d bytes", types.ErrInvalid, key, path, maxSecretFileBytes)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("%w: kafka security: %s %s is empty", types.ErrInvalid, key, path)
	}
	return v, nil
}

func (c KafkaSecurity) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: kafka security: tls-ca-file: %w", types.ErrInvalid, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: kafka security: tls-ca-file %s holds no PEM certificate", types.ErrInvalid, c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: kafka security: tls-cert-file %s / tls-key-file %s: %w", types.ErrInvalid, c.TLSCertFile, c.TLSKeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// securityError reports whether err means the broker refused our
// credentials or we refused its certificate: retrying cannot help.
func securityError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var alert tls.AlertError
	// A TLS alert from the broker (it wants a client certificate, or
	// rejects ours) arrives as a net.OpError "remote error".
	var op *net.OpError
	remoteAlert := errors.As(err, &op) && op.Op == "remote error" && strings.HasPrefix(op.Err.Error(), "tls:")
	return errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.UnsupportedSaslMechanism) ||
		errors.Is(err, kerr.IllegalSaslState) || errors.As(err, &certErr) || errors.As(err, &unknownAuth) ||
		errors.As(err, &hostErr) || errors.As(err, &alert) || remoteAlert
}

// pingTimeout bounds the connection check at the start of a sink or export.
const pingTimeout = 15 * time.Second

// checkConnect pings the brokers. A security failure (wrong password,
// unknown mechanism, untrusted certificate) is returned as one line naming
// the brokers and the mechanism; any other failure (the brokers are down)
// is only logged, and the client keeps retrying. Some brokers answer a
// failed login by closing the connection: with SASL, a connection closed
// on every one of a few pings counts as a refused login.
func checkConnect(ctx context.Context, cl *kgo.Client, brokers []string, sec KafkaSecurity, logf func(string, ...any)) error {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	var err error
	for try := 0; try < eofPings; try++ {
		if err = ping(pctx, cl); err == nil || pctx.Err() != nil || securityError(err) {
			break
		}
		if sec.SASLMechanism == "" || !closedEarly(err) {
			break
		}
		if try == eofPings-1 {
			err = fmt.Errorf("the broker closed the connection during the login (wrong user name or password?): %w", err)
			return authError(brokers, sec, err)
		}
		t := time.NewTimer(eofPingBackoff)
		select {
		case <-pctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if !securityError(err) {
		logf("kafka brokers %s not reachable yet (retrying): %v", strings.Join(brokers, ","), err)
		return nil
	}
	return authError(brokers, sec, err)
}

// ping is cl.Ping that returns when ctx ends, even while the client is
// still dialing (franz-go bounds a dial by its own timeout, not ctx).
func ping(ctx context.Context, cl *kgo.Client) error {
	done := make(chan error, 1)
	go func() { done <- cl.Ping(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// eofPings and eofPingBackoff: how often and how far apart checkConnect
// pings before a closed connection counts as a refused login.
const (
	eofPings       = 3
	eofPingBackoff = 300 * time.Millisecond
)

// closedEarly reports a connection the broker closed without an answer.
func closedEarly(err error) bool {
	var first *kgo.ErrFirstReadEOF
	return errors.As(err, &first) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func authError(brokers []string, sec KafkaSecurity, err error) error {
	how := "TLS"
	if m, _ := ParseSASLMechanism(sec.SASLMechanism); m != "" {
		how = "SASL " + m
		if sec.SASLUsername != "" {
			how += " as user " + strconv.Quote(sec.SASLUsername)
		}
		if sec.TLS {
			how += " over TLS"
		}
	}
	msg := err.Error()
	if p := string(sec.SASLPassword); p != "" {
		msg = strings.ReplaceAll(msg, p, "[redacted]")
	}
	return fmt.Errorf("%w: kafka broker %s: %s failed: %s: check the SILT_KAFKA_* settings", ErrKafkaAuth, strings.Join(brokers, ","), how, msg)
}

// ErrKafkaAuth is the kind of a Kafka authentication or TLS failure.
var ErrKafkaAuth = errors.New("kafka authentication failed")
