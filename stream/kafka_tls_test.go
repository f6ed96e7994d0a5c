package stream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/twmb/franz-go/pkg/kfake"
)

// testPKI is a CA with a server and a client certificate, as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string // CA; client certificate and key
	server                    tls.Certificate
	pool                      *x509.CertPool
}

const testServerName = "kafka.silt.test"

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "silt test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, usage x509.ExtKeyUsage, dns []string) ([]byte, []byte, tls.Certificate) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "silt test"}, DNSNames: dns,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return certPEM, keyPEM, pair
	}
	_, _, server := leaf(2, x509.ExtKeyUsageServerAuth, []string{testServerName})
	clientCert, clientKey, _ := leaf(3, x509.ExtKeyUsageClientAuth, nil)
	p := testPKI{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "client.pem"), keyFile: filepath.Join(dir, "client.key"),
		server: server, pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	for path, data := range map[string][]byte{
		p.caFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), p.certFile: clientCert, p.keyFile: clientKey,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// TestSinkTLS: a sink reaches a TLS broker through the CA and the server
// name, with a client certificate, and with SASL over TLS.
func TestSinkTLS(t *testing.T) {
	p := newTestPKI(t)
	t.Run("server-cert", func(t *testing.T) {
		c := secureCluster(t, 2, "events", kfake.TLS(&tls.Config{Certificates: []tls.Certificate{p.server}}))
		checkSecureSink(t, c, KafkaSecurity{TLS: true, TLSCAFile: p.caFile, TLSServerName: testServerName})
	})
	t.Run("client-cert", func(t *testing.T) {
		c := secureCluster(t, 2, "events", kfake.TLS(&tls.Config{Certificates: []tls.Certificate{p.server},
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool}))
		checkSecureSink(t, c, KafkaSecurity{TLS: true, TLSCAFile: p.caFile, TLSServerName: testServerName, TLSCertFile: p.certFile, TLSKeyFile: p.keyFile})
	})
	t.Run("sasl-over-tls", func(t *testing.T) {
		c := secureCluster(t, 2, "events", append(saslUsers(), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{p.server}}))...)
		checkSecureSink(t, c, KafkaSecurity{SASLMechanism: SASLScramSHA512, SASLUsername: testSASLUser, SASLPassword: testSASLPass,
			TLS: true, TLSCAFile: p.caFile, TLSServerName: testServerName})
	})
}

// TestSinkTLSRejected: a broker certificate that does not match the
// server name, or is not signed by the CA, ends Run quickly with one line.
func TestSinkTLSRejected(t *testing.T) {
	p := newTestPKI(t)
	other := newTestPKI(t)
	c := secureCluster(t, 1, "events", kfake.TLS(&tls.Config{Certificates: []tls.Certificate{p.server}}))
	mtls := secureCluster(t, 1, "events", kfake.TLS(&tls.Config{Certificates: []tls.Certificate{p.server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool}))
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		c   *kfake.Cluster
		sec KafkaSecurity
	}{
		"wrong-name":     {c, KafkaSecurity{TLS: true, TLSCAFile: p.caFile, TLSServerName: "other.silt.test"}},
		"no-name":        {c, KafkaSecurity{TLS: true, TLSCAFile: p.caFile}},
		"wrong-ca":       {c, KafkaSecurity{TLS: true, TLSCAFile: other.caFile, TLSServerName: testServerName}},
		"no-client-cert": {mtls, KafkaSecurity{TLS: true, TLSCAFile: p.caFile, TLSServerName: testServerName}},
	} {
		sec := tc.sec
		s, err := New(tb, Options{Brokers: tc.c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Format: f,
			Security: sec, ClientOpts: fastGroup(), Logf: testLogf(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		start := time.Now()
		err = s.Run(ctx)
		cancel()
		t.Logf("%s: %v (after %v)", name, err, time.Since(start))
		if !errors.Is(err, ErrKafkaAuth) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.c.ListenAddrs()[0]) || time.Since(start) > 20*time.Second {
			t.Fatalf("%s: Run = %v, want one line with ErrKafkaAuth naming the broker", name, err)
		}
	}
}

// TestKafkaSecurityOAuthTokenReread: the OAUTHBEARER token file is read
// each time the client authenticates.
func TestKafkaSecurityOAuthTokenReread(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("token-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := KafkaSecurity{SASLMechanism: "OAUTHBEARER", SASLOAuthTokenFile: tok}.mechanism(SASLOAuthBearer)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"token-one", "token-two"} {
		if want == "token-two" {
			if err := os.WriteFile(tok, []byte(want), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, first, err := m.Authenticate(context.Background(), "k:9092")
		if err != nil || !strings.Contains(string(first), "auth=Bearer "+want+"\x01") {
			t.Fatalf("authenticate: %q %v, want token %s", first, err, want)
		}
	}
	if _, err := (KafkaSecurity{SASLMechanism: "OAUTHBEARER", SASLOAuthTokenFile: tok + ".missing"}).ClientOpts(); err == nil || !strings.Contains(err.Error(), "sasl-oauth-token-file") {
		t.Fatalf("missing token file: %v", err)
	}
}
