package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	testSASLUser = "silt"
	testSASLPass = "pw-9f3c1e7a-secret"
)

// secureCluster starts a kfake cluster with the given security options
// (SASL users, TLS) and one topic.
func secureCluster(t testing.TB, partitions int32, topic string, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.SeedTopics(partitions, topic),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func saslUsers() []kfake.Opt {
	return []kfake.Opt{
		kfake.EnableSASL(),
		kfake.Superuser(SASLPlain, testSASLUser, testSASLPass),
		kfake.Superuser(SASLScramSHA256, testSASLUser, testSASLPass),
		kfake.Superuser(SASLScramSHA512, testSASLUser, testSASLPass),
	}
}

// secureProducer is a manual-partitioning producer that authenticates
// with sec.
func secureProducer(t testing.TB, c *kfake.Cluster, sec KafkaSecurity) *kgo.Client {
	t.Helper()
	so, err := sec.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0)}, so...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// checkSecureSink runs a sink through a secured cluster and checks that
// every record is applied exactly once.
func checkSecureSink(t *testing.T, c *kfake.Cluster, sec KafkaSecurity) {
	t.Helper()
	seed := testSeed(t)
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := newCounterProducer(secureProducer(t, c, sec), "events", 2, 20, rand.New(rand.NewPCG(seed, 1)))
	p.produce(t, 150)
	s, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Member: "m1", Format: f,
		CommitInterval: 100 * time.Millisecond, Security: sec, ClientOpts: fastGroup(), Logf: testLogf(t),
	})
	waitCaughtUp(t, tb, "g", "events", p.ends(), 20*time.Second)
	p.produce(t, 50)
	waitCaughtUp(t, tb, "g", "events", p.ends(), 20*time.Second)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	checkCounters(t, tb, p.oracle)
	if m := s.Metrics().Snapshot(); m.RecordsCommitted != 200 {
		t.Fatalf("committed %d records, want 200", m.RecordsCommitted)
	}
}

// TestSinkSASL: a sink authenticates with each SASL mechanism and applies
// every record exactly once; the password also works from a file.
func TestSinkSASL(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(testSASLPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sec  KafkaSecurity
	}{
		{"plain", KafkaSecurity{SASLMechanism: "PLAIN", SASLUsername: testSASLUser, SASLPassword: testSASLPass}},
		{"scram-sha-256", KafkaSecurity{SASLMechanism: "scram-sha-256", SASLUsername: testSASLUser, SASLPassword: testSASLPass}},
		{"scram-sha-512-file", KafkaSecurity{SASLMechanism: "SCRAM-SHA-512", SASLUsername: testSASLUser, SASLPasswordFile: pwFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkSecureSink(t, secureCluster(t, 2, "events", saslUsers()...), tc.sec)
		})
	}
}

// TestSinkSASLWrongPassword: a rejected login ends Run quickly with one
// line naming the broker and the mechanism, never the password.
func TestSinkSASLWrongPassword(t *testing.T) {
	c := secureCluster(t, 1, "events", saslUsers()...)
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "wrong-pw-5d1b7"
	for _, mech := range []string{SASLScramSHA256, SASLPlain} {
		var logs strings.Builder
		s, err := New(tb, Options{
			Brokers: c.ListenAddrs(), Topics: []string{"events"}, Group: "g", Format: f,
			Security:   KafkaSecurity{SASLMechanism: mech, SASLUsername: testSASLUser, SASLPassword: wrong},
			ClientOpts: fastGroup(),
			Logf:       func(format string, args ...any) { logs.WriteString(fmt.Sprintf(format, args...) + "\n") },
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
		start := time.Now()
		err = s.Run(ctx)
		cancel()
		took := time.Since(start)
		t.Logf("%s: %v (after %v)", mech, err, took)
		if !errors.Is(err, ErrKafkaAuth) || took > 20*time.Second {
			t.Log(logs.String())
			t.Fatalf("%s: Run = %v after %v, want ErrKafkaAuth within 20s", mech, err, took)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, c.ListenAddrs()[0]) || !strings.Contains(msg, mech) {
			t.Fatalf("%s: want one line naming the broker and the mechanism: %q", mech, msg)
		}
		if strings.Contains(msg+logs.String(), wrong) {
			t.Fatalf("%s: the password leaked: %q %q", mech, msg, logs.String())
		}
	}
}

// TestKafkaSecurityRedacted: printing a config never shows the password.
func TestKafkaSecurityRedacted(t *testing.T) {
	sc := SinkConfig{Table: "t", KafkaSecurity: KafkaSecurity{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPassword: testSASLPass}}
	for _, s := range []string{fmt.Sprint(sc), fmt.Sprintf("%+v", sc), fmt.Sprintf("%#v", sc), fmt.Sprintf("%v", &sc)} {
		if strings.Contains(s, testSASLPass) {
			t.Fatalf("password printed: %s", s)
		}
	}
	b, err := json.Marshal(sc)
	if err != nil || strings.Contains(string(b), testSASLPass) {
		t.Fatalf("password in JSON: %s %v", b, err)
	}
}

// FuzzKafkaSecurityEnv: any SILT_KAFKA_* values give a config or a
// one-line error, never a panic, and the password never shows in it.
func FuzzKafkaSecurityEnv(f *testing.F) {
	f.Add("SCRAM-SHA-256", "u", "pw", "true", "", "")
	f.Add("oauthbearer", "", "", "1", "/tok", "/ca")
	f.Add("PLAIN", "", "pw", "maybe", "", "")
	f.Add("", "u", "", "false", "", "/ca")
	f.Fuzz(func(t *testing.T, mech, user, pass, tlsv, tokFile, caFile string) {
		env := map[string]string{"SILT_KAFKA_SASL_MECHANISM": mech, "SILT_KAFKA_SASL_USERNAME": user,
			"SILT_KAFKA_SASL_PASSWORD": pass, "SILT_KAFKA_TLS": tlsv, "SILT_KAFKA_SASL_OAUTH_TOKEN_FILE": tokFile,
			"SILT_KAFKA_TLS_CA_FILE": caFile}
		c, err := KafkaSecurity{}.WithEnv(func(k string) string { return env[k] })
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.ContainsAny(mech+tlsv, "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			if len(pass) >= 4 && strings.Contains(err.Error(), pass) && !strings.Contains(mech+user+tlsv+tokFile+caFile, pass) {
				t.Fatalf("password in error: %q", err)
			}
			return
		}
		if s := fmt.Sprintf("%+v %#v", c, c); len(pass) >= 4 && strings.Contains(s, pass) && !strings.Contains(mech+user+tlsv+tokFile+caFile, pass) {
			t.Fatalf("password printed: %s", s)
		}
	})
}

// TestKafkaSecurityValidate: each mistake is one line naming the key.
func TestKafkaSecurityValidate(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(big, make([]byte, maxSecretFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sec  KafkaSecurity
		want string
	}{
		{KafkaSecurity{SASLMechanism: "GSSAPI"}, "sasl-mechanism"},
		{KafkaSecurity{SASLUsername: "u"}, "need sasl-mechanism"},
		{KafkaSecurity{SASLMechanism: "PLAIN"}, "needs sasl-username"},
		{KafkaSecurity{SASLMechanism: "OAUTHBEARER"}, "needs sasl-oauth-token-file"},
		{KafkaSecurity{SASLMechanism: "PLAIN", SASLUsername: "u", SASLOAuthTokenFile: "/t"}, "needs sasl-mechanism OAUTHBEARER"},
		{KafkaSecurity{TLS: true, TLSCertFile: "/c"}, "tls-key-file"},
		{KafkaSecurity{TLSCAFile: "/ca"}, "tls: true"},
		{KafkaSecurity{SASLMechanism: "PLAIN", SASLUsername: "u"}, "SILT_KAFKA_SASL_PASSWORD"},
		{KafkaSecurity{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPasswordFile: big}, "larger than"},
		{KafkaSecurity{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPasswordFile: empty}, "is empty"},
		{KafkaSecurity{SASLMechanism: "PLAIN", SASLUsername: "u", SASLPasswordFile: filepath.Join(dir, "none")}, "sasl-password-file"},
		{KafkaSecurity{TLS: true, TLSCAFile: empty}, "no PEM certificate"},
	} {
		_, err := tc.sec.ClientOpts()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want one line with %q", tc.sec, err, tc.want)
		}
	}
	if _, err := (KafkaSecurity{}).WithEnv(func(k string) string { return map[string]string{"SILT_KAFKA_TLS": "yes please"}[k] }); err == nil || !strings.Contains(err.Error(), "SILT_KAFKA_TLS") {
		t.Errorf("bad SILT_KAFKA_TLS: %v", err)
	}
	env := map[string]string{"SILT_KAFKA_SASL_MECHANISM": "plain", "SILT_KAFKA_SASL_USERNAME": "envuser", "SILT_KAFKA_SASL_PASSWORD": "p"}
	c, err := (KafkaSecurity{SASLMechanism: "SCRAM-SHA-256", SASLUsername: "fileuser"}).WithEnv(func(k string) string { return env[k] })
	if err != nil || c.SASLMechanism != "plain" || c.SASLUsername != "envuser" || c.SASLPassword != "p" {
		t.Errorf("env should win: %+v %v", c, err)
	}
}

// TestSinkDrainDuringStartCheck: Drain while the start check waits on a
// broker that never answers returns promptly, not after the ping timeout.
func TestSinkDrainDuringStartCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts connections, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tb := createTable(t, newCatalog(objstore.NewMem()), "counters", counterSchema())
	f, err := NewFormat("json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(tb, Options{Brokers: []string{ln.Addr().String()}, Topics: []string{"events"}, Group: "g", Format: f, Logf: testLogf(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	s.Drain()
	select {
	case err := <-done:
		t.Logf("Run = %v, %v after Drain", err, time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of Drain")
	}
}
