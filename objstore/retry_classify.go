package objstore

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/siltdb/silt/types"
)

// IsRetryable reports whether err is worth another attempt: a throttle or
// server error (503 SlowDown, 500 InternalError, 429, 408 RequestTimeout,
// 502, 504), a network failure (timeout, reset, refused), a truncated
// body, a timed-out attempt, ErrInjected or ErrAmbiguous. Definite
// answers (ErrNotFound, ErrPreconditionFailed, types.ErrInvalid, 4xx)
// and cancellation are not. Retry also never retries once the caller's
// ctx has ended, whatever the error.
func IsRetryable(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, ErrNotFound),
		errors.Is(err, ErrPreconditionFailed),
		errors.Is(err, types.ErrInvalid),
		errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, ErrAmbiguous),
		errors.Is(err, ErrInjected),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	var proto *ProtocolError
	if errors.As(err, &proto) {
		return false // a setting to change; retrying will not help
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.StatusCode != 0 || resp.Code != "") {
		switch resp.Code {
		case "SlowDown", "SlowDownRead", "SlowDownWrite", "InternalError", "RequestTimeout",
			"TooManyRequests", "ServiceUnavailable", "Throttling", "ThrottlingException",
			"RequestLimitExceeded", "RequestThrottled":
			return true
		}
		switch resp.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var (
		unknownCA x509.UnknownAuthorityError
		badCert   x509.CertificateInvalidError
		badHost   x509.HostnameError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &badCert) || errors.As(err, &badHost) {
		return false // misconfiguration; retrying will not help
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ETIMEDOUT)
}
