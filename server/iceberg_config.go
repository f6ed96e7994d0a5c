package server

import (
	"strconv"

	"github.com/siltdb/silt/objstore"
)

// Client hints of /iceberg/v1/config: the "defaults" an engine's own
// settings override. Only these keys are ever sent; credentials never are
// (engines bring their own S3 keys).
const (
	hintS3Endpoint   = "s3.endpoint"                 // Java S3FileIO, PyIceberg, iceberg-go
	hintPathStyle    = "s3.path-style-access"        // Java S3FileIO (Spark, Flink)
	hintForceVirtual = "s3.force-virtual-addressing" // PyIceberg, iceberg-go
	hintS3Region     = "s3.region"                   // PyIceberg, iceberg-go
	hintClientRegion = "client.region"               // Java S3FileIO
)

var icebergHintKeys = map[string]bool{
	hintS3Endpoint: true, hintPathStyle: true, hintForceVirtual: true, hintS3Region: true, hintClientRegion: true,
}

// IcebergS3Hints are the client hints of a warehouse on S3 with this
// client configuration: its endpoint (with scheme), addressing style and
// region. S3Config holds no secret, so neither do they.
func IcebergS3Hints(cfg objstore.S3Config) map[string]string {
	h := map[string]string{}
	if cfg.Endpoint != "" {
		scheme := "http://"
		if cfg.Secure {
			scheme = "https://"
		}
		h[hintS3Endpoint] = scheme + cfg.Endpoint
	}
	h[hintPathStyle] = strconv.FormatBool(cfg.PathStyle)
	h[hintForceVirtual] = strconv.FormatBool(!cfg.PathStyle)
	if cfg.Region != "" {
		h[hintS3Region] = cfg.Region
		h[hintClientRegion] = cfg.Region
	}
	return h
}
