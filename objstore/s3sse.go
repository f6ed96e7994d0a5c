package objstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/siltdb/silt/types"
)

// Values of S3Config.SSE.
const (
	// SSES3 is SSE-S3: AES256 with keys the service manages.
	SSES3 = "s3"
	// SSEKMS is SSE-KMS: the service encrypts with a key of its KMS
	// (S3Config.SSEKMSKeyID).
	SSEKMS = "kms"
)

// ParseSSE checks a server-side encryption mode as a user spells it ("",
// "s3", "kms", any case; "none" is ""). setting names where it came
// from, for the error.
func ParseSSE(setting, v string) (string, error) {
	switch m := strings.ToLower(strings.TrimSpace(v)); m {
	case "", "none":
		return "", nil
	case SSES3, SSEKMS:
		return m, nil
	}
	return "", fmt.Errorf("%w: %s %q: want s3 (SSE-S3, AES256) or kms (SSE-KMS; set SILT_S3_SSE_KMS_KEY_ID)", types.ErrInvalid, setting, v)
}

// ParseSSEKMSContext parses an SSE-KMS encryption context: a JSON object
// of string values, e.g. {"team":"data"}. "" is no context.
func ParseSSEKMSContext(setting, v string) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(v), &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object of string values (e.g. {\"team\":\"data\"})", types.ErrInvalid, setting)
	}
	return m, nil
}

// validateSSE checks the SSE fields of a config.
func (c S3Config) validateSSE() error {
	if _, err := ParseSSE("s3 sse", c.SSE); err != nil {
		return err
	}
	if c.SSE != SSEKMS && (c.SSEKMSKeyID != "" || c.SSEKMSContext != "") {
		return fmt.Errorf("%w: an SSE-KMS key id or context needs sse kms (SILT_S3_SSE=kms)", types.ErrInvalid)
	}
	if strings.ContainsAny(c.SSEKMSKeyID, "\x00\r\n") {
		return fmt.Errorf("%w: SSE-KMS key id holds a control character", types.ErrInvalid)
	}
	_, err := ParseSSEKMSContext("SSE-KMS context", c.SSEKMSContext)
	return err
}

// serverSideEncryption returns what every put of the store sends, nil
// for none (the bucket's default encryption).
func (c S3Config) serverSideEncryption() (encrypt.ServerSide, error) {
	mode, err := ParseSSE("s3 sse", c.SSE)
	if err != nil {
		return nil, err
	}
	switch mode {
	case SSES3:
		return encrypt.NewSSE(), nil
	case SSEKMS:
		ctx, err := ParseSSEKMSContext("SSE-KMS context", c.SSEKMSContext)
		if err != nil {
			return nil, err
		}
		var context any
		if ctx != nil {
			context = ctx
		}
		sse, err := encrypt.NewSSEKMS(c.SSEKMSKeyID, context)
		if err != nil {
			return nil, fmt.Errorf("%w: SSE-KMS: %w", types.ErrInvalid, err)
		}
		return sse, nil
	}
	return nil, nil
}

// isS3KMSError reports whether the service refused a request because of
// its KMS: an unknown or disabled key id, a key the credentials may not
// use (AWS: KMS.NotFoundException, KMS.DisabledException, ...; MinIO:
// kms:KeyNotFound, ...).
func isS3KMSError(err error) bool {
	code := strings.ToLower(minio.ToErrorResponse(asErrorResponse(err)).Code)
	return strings.HasPrefix(code, "kms.") || strings.HasPrefix(code, "kms:")
}
