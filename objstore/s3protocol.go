package objstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// ProtocolError is a request that spoke the wrong protocol to the S3
// endpoint: HTTPS to a plain-HTTP endpoint, or plain HTTP to an HTTPS
// one. It is a setting to change (the endpoint's scheme, or the insecure
// setting), not a passing fault: it is not retried.
type ProtocolError struct {
	Endpoint string // host:port
	// EndpointTLS: the endpoint speaks HTTPS and the request was plain
	// HTTP (else the reverse).
	EndpointTLS bool
	Err         error
}

func (e *ProtocolError) Error() string {
	if e.EndpointTLS {
		return fmt.Sprintf("s3 endpoint %s speaks HTTPS, but the request was plain HTTP: %v", e.Endpoint, e.Err)
	}
	return fmt.Sprintf("s3 endpoint %s speaks plain HTTP, but the request was HTTPS: %v", e.Endpoint, e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// tlsProbeTimeout bounds the handshake that tells whether an endpoint
// speaks TLS.
const tlsProbeTimeout = 2 * time.Second

// protocolError returns err as a *ProtocolError when the protocol is what
// went wrong, else err. HTTPS to a plain-HTTP server fails with the HTTP
// client's own error; plain HTTP to an HTTPS server gets a 400 without an
// S3 error code, so a TLS handshake with the endpoint tells.
func (s *S3) protocolError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	ep := s.cfg.endpoint()
	if s.cfg.Secure {
		if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") ||
			strings.Contains(err.Error(), "first record does not look like a TLS handshake") {
			return &ProtocolError{Endpoint: ep, Err: err}
		}
		return err
	}
	var resp minio.ErrorResponse
	// An S3 error code (AuthorizationHeaderMalformed, …) is S3 speaking;
	// a bare status ("400 Bad Request") may be a TLS server's answer.
	if !errors.As(err, &resp) || resp.StatusCode != 400 || (resp.Code != "" && resp.Code != "BadRequest" && !strings.Contains(resp.Code, " ")) {
		return err
	}
	if speaksTLS(ctx, ep) {
		return &ProtocolError{Endpoint: ep, EndpointTLS: true, Err: err}
	}
	return err
}

// speaksTLS reports whether a TLS handshake with host:port succeeds (the
// certificate is not checked: only the protocol is in question).
func speaksTLS(ctx context.Context, hostport string) bool {
	if !strings.Contains(hostport, ":") {
		hostport += ":80"
	}
	ctx, cancel := context.WithTimeout(ctx, tlsProbeTimeout)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a protocol probe: no data is sent
	c, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
