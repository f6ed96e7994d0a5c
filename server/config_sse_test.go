package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// TestLoadSSESettings: the encryption and cold-tier endpoint settings of
// the config file reach the S3 environment; a bad mode names the key and
// the accepted values.
func TestLoadSSESettings(t *testing.T) {
	c, err := Load(Sources{File: "x.yaml", Data: []byte("s3-sse: kms\ns3-sse-kms-key-id: my-key\n" +
		"s3-sse-kms-context: '{\"team\":\"data\"}'\ncold-s3-endpoint: http://cold:9000\n")})
	if err != nil {
		t.Fatal(err)
	}
	for env, want := range map[string]string{"SILT_S3_SSE": "kms", "SILT_S3_SSE_KMS_KEY_ID": "my-key",
		"SILT_S3_SSE_KMS_CONTEXT": `{"team":"data"}`, "SILT_COLD_S3_ENDPOINT": "http://cold:9000"} {
		if c.S3[env] != want {
			t.Errorf("%s = %q, want %q", env, c.S3[env], want)
		}
	}
	_, err = Load(Sources{File: "x.yaml", Data: []byte("s3-sse: aes256\n")})
	if err == nil || !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `line 1: key "s3-sse": "aes256": want s3 or kms`) {
		t.Errorf("bad s3-sse: %v", err)
	}
}
