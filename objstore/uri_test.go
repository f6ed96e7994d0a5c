package objstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func TestRedactURI(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bucket/wh":                                  "s3://bucket/wh",
		"s3://AKIA:hunter2@bucket/wh":                     "s3://REDACTED@bucket/wh",
		"s3://bucket/wh?secret=hunter2&region=x":          "s3://bucket/wh?secret=REDACTED&region=x",
		"s3://b/x?X-Amz-Signature=abc&X-Amz-Credential=k": "s3://b/x?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED",
		"s3://b/x?storage-class=GLACIER_IR":               "s3://b/x?storage-class=GLACIER_IR",
		"http://u:p@host:9000":                            "http://REDACTED@host:9000",
		"/local/dir":                                      "/local/dir",
	} {
		if got := objstore.RedactURI(in); got != want {
			t.Errorf("RedactURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckStoreURI(t *testing.T) {
	for _, ok := range []string{"s3://bucket/wh", "s3://bucket", "/abs/dir"} {
		if err := objstore.CheckStoreURI("tier.cold.uri", ok, true); err != nil {
			t.Errorf("CheckStoreURI(%q): %v", ok, err)
		}
	}
	for uri, want := range map[string]string{
		"s3://k:hunter2@bucket/x":     "credentials",
		"s3://bucket/x?token=hunter2": "credentials",
		"s3://":                       "no bucket",
		"s3:///x":                     "no bucket",
		"../../x":                     "relative",
		"gs://bucket":                 "unsupported scheme",
		"":                            "empty",
	} {
		err := objstore.CheckStoreURI("tier.cold.uri", uri, true)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("CheckStoreURI(%q): %v; want types.ErrInvalid saying %q without the secret", uri, err, want)
		}
	}
	if err := objstore.CheckStoreURI("warehouse", "./wh", false); err != nil {
		t.Errorf("a relative warehouse directory: %v", err)
	}
}

// FuzzRedactURI: whatever the text, the password of user info and the
// values of secret-like query parameters never survive RedactURI nor
// CheckStoreURI's error.
func FuzzRedactURI(f *testing.F) {
	for _, s := range []string{"s3://k:secretvalue@bucket/x", "s3://bucket/x?secret=secretvalue", "s3://b/x?a=1&Token=secretvalue#f", "http://u:secretvalue@h:1/p", "/dir", "s3://"} {
		f.Add(s, "secretvalue")
	}
	f.Fuzz(func(t *testing.T, prefix, secret string) {
		// The messages' own words are no leak.
		words := objstore.CheckStoreURI("warehouse", "s3://a:b@"+prefix, false).Error() + "REDACTED" + prefix
		if len(secret) < 6 || strings.ContainsAny(secret, "@/?#&=:%+") || strings.Contains(words, secret) {
			return
		}
		for _, uri := range []string{
			"s3://user:" + secret + "@" + prefix,
			"s3://bucket/" + prefix + "?secret=" + secret,
			"s3://bucket?x=1&aws_session_token=" + secret + "&" + prefix,
		} {
			if strings.Contains(uri[len(uri)-len(prefix):], secret) {
				continue
			}
			if got := objstore.RedactURI(uri); strings.Contains(got, secret) {
				t.Fatalf("RedactURI(%q) = %q keeps the secret", uri, got)
			}
			err := objstore.CheckStoreURI("warehouse", uri, false)
			if err == nil {
				t.Fatalf("CheckStoreURI(%q) accepted credentials", uri)
			}
			if !errors.Is(err, types.ErrInvalid) || strings.Contains(err.Error(), secret) {
				t.Fatalf("CheckStoreURI(%q): %v", uri, err)
			}
		}
		_ = objstore.CheckStoreURI("x", prefix, true) // never panics
		_ = objstore.RedactURI(prefix)
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9000", "http://minio:9000", "https://h/", "http://u:p@h", "ftp://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ep string) {
		host, _, _, err := objstore.ParseEndpoint(ep)
		if err != nil {
			if !errors.Is(err, types.ErrInvalid) {
				t.Fatalf("ParseEndpoint(%q): %v does not wrap types.ErrInvalid", ep, err)
			}
			return
		}
		if strings.ContainsAny(host, "/@?#") {
			t.Fatalf("ParseEndpoint(%q) = host %q", ep, host)
		}
	})
}
