package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/siltdb/silt/types"
)

// maxSinglePut is the largest object S3 accepts in one PUT. Conditional
// puts must be single-part (see PutIfAbsent), so this bounds them.
const maxSinglePut = 5 << 30

// S3 is a Store on an S3-compatible service, via minio-go. Each call makes
// one HTTP attempt (minio-go's internal retries are off) within a time
// budget that grows with the bytes it moves (S3Config.RequestTimeout,
// MinThroughput; ErrTimeout); wrap the store in NewRetry, whose attempts
// are bounded, visible in its Stats and safe for conditional puts.
//
// Conditional puts are always single-part PUTs: minio-go attaches
// If-None-Match / If-Match only to the request that starts a multipart
// upload, not to the one completing it, so a multipart conditional put can
// silently overwrite. An internal retry would be wrong too: retrying a
// conditional PUT whose response was lost reports 412 for a write that
// was applied. A conditional put that fails without a definite answer (a
// network error, a timeout, a 5xx) returns an error wrapping ErrAmbiguous.
type S3 struct {
	cfg    S3Config
	prefix string // normalized cfg.Prefix: "" or "p/"
	region string // cfg.Region or from the environment; may be ""
	client *minio.Client
	sse    encrypt.ServerSide // nil: the bucket's default encryption
}

// NewS3 connects to the bucket described by cfg. Credentials come from
// the AWS credential chain (credentialChain): the environment, the shared
// credentials file, web identity, then the container or instance role;
// finding none is an error. NewS3 does not contact the service (see
// EnsureBucket), except an instance's metadata service when the chain
// gets that far.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	sse, err := cfg.serverSideEncryption()
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	creds, err := resolveCredentials(ctx, cfg)
	if err != nil {
		return nil, err
	}
	region := cfg.Region
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	transport, err := minio.DefaultTransport(cfg.Secure)
	if err != nil {
		return nil, fmt.Errorf("s3 transport: %w", err)
	}
	if cfg.InsecureSkipVerify && transport.TLSClientConfig != nil {
		transport.TLSClientConfig.InsecureSkipVerify = true
	}
	opts := minio.Options{
		Creds:      creds,
		Secure:     cfg.Secure,
		Transport:  transport,
		Region:     region,
		MaxRetries: 1, // see the S3 doc comment
	}
	if cfg.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.endpoint(), &opts)
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", cfg, err)
	}
	return &S3{cfg: cfg, prefix: normPrefix(cfg.Prefix), region: region, client: client, sse: sse}, nil
}

// Config returns the configuration the store was made with.
func (s *S3) Config() S3Config { return s.cfg }

// String names the bucket and endpoint; it never includes credentials.
func (s *S3) String() string { return s.cfg.String() }

// BucketExists reports whether the bucket exists.
func (s *S3) BucketExists(ctx context.Context) (bool, error) {
	rctx, rt := s.startRequest(ctx, 0)
	defer rt.done()
	ok, err := s.client.BucketExists(rctx, s.cfg.Bucket)
	if err != nil {
		if terr := rt.timedOut(ctx, "bucket-exists", s.cfg.Bucket); terr != nil {
			return false, terr
		}
		if isS3AccessDenied(err) {
			return false, fmt.Errorf("s3 bucket %s: %w: %w", s.cfg.Bucket, ErrAccessDenied, err)
		}
		return false, fmt.Errorf("s3 bucket %s: %w", s.cfg.Bucket, s.protocolError(ctx, err))
	}
	return ok, nil
}

// EnsureBucket creates the bucket if it does not exist.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.BucketExists(ctx)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	rctx, rt := s.startRequest(ctx, 0)
	defer rt.done()
	err = s.client.MakeBucket(rctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.region})
	if err != nil {
		if terr := rt.timedOut(ctx, "create-bucket", s.cfg.Bucket); terr != nil {
			return terr
		}
		switch minio.ToErrorResponse(asErrorResponse(err)).Code {
		case "BucketAlreadyOwnedByYou", "BucketAlreadyExists":
			return nil // lost a creation race with ourselves
		}
		return fmt.Errorf("s3 create bucket %s: %w", s.cfg.Bucket, err)
	}
	return nil
}

// RemoveBucket deletes the bucket, which must be empty. Tests use it to
// clean up.
func (s *S3) RemoveBucket(ctx context.Context) error {
	if err := s.client.RemoveBucket(ctx, s.cfg.Bucket); err != nil {
		return fmt.Errorf("s3 remove bucket %s: %w", s.cfg.Bucket, err)
	}
	return nil
}

func (s *S3) objectKey(key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: empty object key", types.ErrInvalid)
	}
	return s.prefix + key, nil
}

func (s *S3) info(key string, oi minio.ObjectInfo) ObjectInfo {
	return ObjectInfo{Key: key, Size: oi.Size, ETag: strings.Trim(oi.ETag, `"`), LastModified: oi.LastModified}
}

func (s *S3) Get(ctx context.Context, key string) ([]byte, ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, ObjectInfo{}, err
	}
	ok, err := s.objectKey(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	rctx, rt := s.startRequest(ctx, 0)
	defer rt.done()
	rc, oi, _, err := minio.Core{Client: s.client}.GetObject(rctx, s.cfg.Bucket, ok, minio.GetObjectOptions{})
	if err != nil {
		return nil, ObjectInfo{}, rt.fail(ctx, "get", key, err)
	}
	defer rc.Close()
	rt.arm(oi.Size) // the body's budget
	data, err := readAllSized(rc, oi.Size)
	if err != nil {
		return nil, ObjectInfo{}, rt.fail(ctx, "get", key, err)
	}
	return data, s.info(key, oi), nil
}

func (s *S3) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ok, err := s.objectKey(key)
	if err != nil {
		return nil, err
	}
	if off < 0 || length < 0 {
		return nil, fmt.Errorf("s3 get %q: %w: negative range %d+%d", key, types.ErrInvalid, off, length)
	}
	if length == 0 {
		// No byte range expresses "nothing"; still report a missing key.
		if _, err := s.Stat(ctx, key); err != nil {
			return nil, err
		}
		return []byte{}, nil
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(off, off+length-1); err != nil {
		return nil, fmt.Errorf("s3 get %q: %w: %w", key, types.ErrInvalid, err)
	}
	rctx, rt := s.startRequest(ctx, length)
	defer rt.done()
	rc, oi, _, err := minio.Core{Client: s.client}.GetObject(rctx, s.cfg.Bucket, ok, opts)
	if err != nil {
		if minio.ToErrorResponse(asErrorResponse(err)).StatusCode == http.StatusRequestedRangeNotSatisfiable {
			return []byte{}, nil // the object exists and ends before off
		}
		return nil, rt.fail(ctx, "get", key, err)
	}
	defer rc.Close()
	// oi.Size is the length of the returned range here.
	data, err := readAllSized(io.LimitReader(rc, length), min(oi.Size, length))
	if err != nil {
		return nil, rt.fail(ctx, "get", key, err)
	}
	return data, nil
}

// readAllSized reads r to the end, preallocating size bytes when known,
// and reports a body shorter than announced as io.ErrUnexpectedEOF. A body
// of the announced size costs exactly one buffer of that size (reading to
// the end through a full bytes.Buffer would double it to look for EOF).
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	buf := make([]byte, size)
	if n, err := io.ReadFull(r, buf); err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("read %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	} else if err != nil {
		return nil, err
	}
	// A body longer than announced is read to its end, as before.
	rest, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		buf = append(buf, rest...)
	}
	return buf, nil
}

func (s *S3) Put(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	ok, err := s.objectKey(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	opts := minio.PutObjectOptions{SendContentMd5: true, DisableMultipart: len(data) <= maxSinglePut, StorageClass: s.cfg.StorageClass, ServerSideEncryption: s.sse}
	rctx, rt := s.startRequest(ctx, int64(len(data)))
	defer rt.done()
	ui, err := s.client.PutObject(rctx, s.cfg.Bucket, ok, bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		return ObjectInfo{}, rt.fail(ctx, "put", key, err)
	}
	return ObjectInfo{Key: key, Size: int64(len(data)), ETag: strings.Trim(ui.ETag, `"`), LastModified: ui.LastModified}, nil
}

// PutIfAbsent sends one single-part PUT with If-None-Match: *.
func (s *S3) PutIfAbsent(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	var opts minio.PutObjectOptions
	opts.SetMatchETagExcept("*")
	return s.condPut(ctx, "put-if-absent", key, data, opts)
}

// PutIfMatch sends one single-part PUT with If-Match: "etag". A missing
// object fails the precondition.
func (s *S3) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (ObjectInfo, error) {
	if etag == "" || etag == "*" {
		// "*" would mean "any existing object" to S3; it is no ETag.
		return ObjectInfo{}, fmt.Errorf("s3 put-if-match %q: %w: %q is not an ETag", key, ErrPreconditionFailed, etag)
	}
	var opts minio.PutObjectOptions
	opts.SetMatchETag(strings.Trim(etag, `"`))
	return s.condPut(ctx, "put-if-match", key, data, opts)
}

func (s *S3) condPut(ctx context.Context, op, key string, data []byte, opts minio.PutObjectOptions) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err // nothing was sent
	}
	ok, err := s.objectKey(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	if len(data) > maxSinglePut {
		return ObjectInfo{}, fmt.Errorf("s3 %s %q: %w: %d bytes exceeds the 5 GiB single-PUT limit of conditional puts", op, key, types.ErrInvalid, len(data))
	}
	opts.DisableMultipart = true // the precondition must ride on the one request that writes
	opts.SendContentMd5 = true
	opts.StorageClass = s.cfg.StorageClass
	opts.ServerSideEncryption = s.sse
	rctx, rt := s.startRequest(ctx, int64(len(data)))
	defer rt.done()
	ui, err := s.client.PutObject(rctx, s.cfg.Bucket, ok, bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		if terr := rt.timedOut(ctx, op, key); terr != nil {
			// The request may have reached the service: exactly as
			// ambiguous as any other lost answer.
			return ObjectInfo{}, fmt.Errorf("s3 %s %q: %w: %w", op, key, ErrAmbiguous, terr)
		}
		resp := minio.ToErrorResponse(asErrorResponse(err))
		switch {
		case resp.StatusCode == http.StatusPreconditionFailed,
			resp.StatusCode == http.StatusConflict,                             // ConditionalRequestConflict: a concurrent conditional write won
			resp.StatusCode == http.StatusNotFound && resp.Code == "NoSuchKey": // If-Match on a missing object
			return ObjectInfo{}, fmt.Errorf("s3 %s %q: %w: %w", op, key, ErrPreconditionFailed, err)
		case resp.StatusCode != 0 && resp.StatusCode < 500:
			// A definite rejection (403, 400, ...): nothing was written.
			return ObjectInfo{}, s3Err(op, key, err)
		}
		// A 5xx, a transport failure, a timeout or the caller's
		// cancellation: the write may or may not have happened.
		return ObjectInfo{}, fmt.Errorf("s3 %s %q: %w: %w", op, key, ErrAmbiguous, err)
	}
	return ObjectInfo{Key: key, Size: int64(len(data)), ETag: strings.Trim(ui.ETag, `"`), LastModified: ui.LastModified}, nil
}

func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	ok, err := s.objectKey(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	rctx, rt := s.startRequest(ctx, 0)
	defer rt.done()
	oi, err := s.client.StatObject(rctx, s.cfg.Bucket, ok, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, rt.fail(ctx, "stat", key, err)
	}
	return s.info(key, oi), nil
}

func (s *S3) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// rt.done stops minio-go's listing goroutine if we return early.
	rctx, rt := s.startRequest(ctx, 0)
	defer rt.done()
	var out []ObjectInfo
	opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}
	for oi := range s.client.ListObjectsIter(rctx, s.cfg.Bucket, opts) {
		if oi.Err != nil {
			return nil, rt.fail(ctx, "list", prefix, oi.Err)
		}
		rt.arm(0) // progress: the budget restarts
		key, ok := strings.CutPrefix(oi.Key, s.prefix)
		if !ok {
			continue // cannot happen: the listing was by prefix
		}
		out = append(out, s.info(key, oi))
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ok, err := s.objectKey(key)
	if err != nil {
		return err
	}
	rctx, rt := s.startRequest(ctx, 0)
	defer rt.done()
	if err := s.client.RemoveObject(rctx, s.cfg.Bucket, ok, minio.RemoveObjectOptions{}); err != nil {
		if isS3NotFound(err) {
			return nil
		}
		return rt.fail(ctx, "delete", key, err)
	}
	return nil
}

// asErrorResponse digs a minio.ErrorResponse out of a wrapped error so
// that minio.ToErrorResponse (which only type-switches) can see it.
func asErrorResponse(err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp
	}
	return err
}

func isS3NotFound(err error) bool {
	resp := minio.ToErrorResponse(asErrorResponse(err))
	switch resp.Code {
	case "NoSuchKey", "NotFound":
		return true
	case "NoSuchBucket":
		return false // a configuration error, not a missing object
	}
	return resp.StatusCode == http.StatusNotFound
}

// isS3AccessDenied reports whether the service refused the request for
// lack of permission.
func isS3AccessDenied(err error) bool {
	resp := minio.ToErrorResponse(asErrorResponse(err))
	return resp.Code == "AccessDenied" || resp.Code == "AllAccessDisabled"
}

// s3Err wraps err with the operation and key, with ErrNotFound when the
// service says the object does not exist, and with ErrAccessDenied when
// it refuses the request for lack of permission; a KMS refusal (SSE-KMS
// with an unknown key) is a configuration error, types.ErrInvalid.
func s3Err(op, key string, err error) error {
	if isS3KMSError(err) { // before not-found: an unknown KMS key is a 404
		return fmt.Errorf("s3 %s %q: %w: %w (check SILT_S3_SSE and SILT_S3_SSE_KMS_KEY_ID: the key must exist in the service's KMS and the credentials must be allowed to use it)", op, key, types.ErrInvalid, err)
	}
	if isS3NotFound(err) {
		return fmt.Errorf("s3 %s %q: %w: %w", op, key, ErrNotFound, err)
	}
	if isS3AccessDenied(err) {
		return fmt.Errorf("s3 %s %q: %w: %w", op, key, ErrAccessDenied, err)
	}
	return fmt.Errorf("s3 %s %q: %w", op, key, err)
}
