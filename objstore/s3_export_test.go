package objstore

import (
	"context"

	"github.com/minio/minio-go/v7"
)

// SSEOf returns the server-side encryption the service reports for an
// object: the algorithm ("AES256", "aws:kms", "" for none) and the KMS
// key id.
func SSEOf(ctx context.Context, s *S3, key string) (alg, kmsKey string, err error) {
	oi, err := s.client.StatObject(ctx, s.cfg.Bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return "", "", err
	}
	return oi.Metadata.Get("X-Amz-Server-Side-Encryption"), oi.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), nil
}
