package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/stream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const failoverServerName = "kafka.failover.test"

// brokerTLS writes a CA to dir and returns it with a server certificate
// for failoverServerName signed by it.
func brokerTLS(t *testing.T, dir string) (caFile string, server tls.Certificate) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "silt failover CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(2 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: failoverServerName}, DNSNames: []string{failoverServerName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(2 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	server, err = tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, server
}

// sinkProc is one `silt sink` process of the test.
type sinkProc struct {
	name   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

var (
	assignedLine = regexp.MustCompile(`: assigned \[([^\]]*)\]`)
	droppedLine  = regexp.MustCompile(`: (?:revoked|lost) map\[(.*)\]$`)
	topicParts   = regexp.MustCompile(`(\S+?):\[([0-9 ]*)\]`)
)

// owns replays the process's assigned / revoked / lost log lines into the
// set of partitions it owns now.
func (p *sinkProc) owns() []string {
	set := map[string]bool{}
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if m := assignedLine.FindStringSubmatch(line); m != nil {
			for _, f := range strings.Fields(m[1]) {
				tp, _, _ := strings.Cut(f, "@")
				set[tp] = true
			}
		} else if m := droppedLine.FindStringSubmatch(line); m != nil {
			for _, tm := range topicParts.FindAllStringSubmatch(m[1], -1) {
				for _, n := range strings.Fields(tm[2]) {
					delete(set, tm[1]+"/"+n)
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for tp := range set {
		out = append(out, tp)
	}
	sort.Strings(out)
	return out
}

// TestSinkKill9SCRAMTLS runs `silt sink` processes against a broker that
// takes SASL/SCRAM-SHA-256 over TLS only, while records keep coming: two
// members of one group with a 3s session timeout; kill -9 one, and the
// other owns every partition within the session timeout plus a margin
// (the takeover time is logged); restart it; kill -9 a member again
// mid-stream and restart it. At the end the table holds every record
// exactly once (the counter table: count, sum of offsets, last offset per
// key, compared with an oracle).
func TestSinkKill9SCRAMTLS(t *testing.T) {
	seed := testkit.Seed(t)
	rng := mrand.New(mrand.NewPCG(seed, 11))
	const (
		parts   = 4
		keys    = 40
		user    = "silt"
		pass    = "scram-pw-5d1e7a"
		session = 3 * time.Second
		margin  = 5 * time.Second
	)
	dir := t.TempDir()
	caFile, serverCert := brokerTLS(t, dir)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "events"),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", user, pass),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}}),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", `CREATE DATABASE app; CREATE TABLE app.counters (k BIGINT, cnt BIGINT, sum_off BIGINT, last_off BIGINT, PRIMARY KEY (k))
		WITH ('bucket' = '2', 'merge-engine' = 'aggregation', 'fields.cnt.aggregate-function' = 'sum',
		'fields.sum_off.aggregate-function' = 'sum', 'fields.last_off.aggregate-function' = 'last_value')`)

	sec := stream.KafkaSecurity{SASLMechanism: "SCRAM-SHA-256", SASLUsername: user, SASLPassword: pass,
		TLS: true, TLSCAFile: caFile, TLSServerName: failoverServerName}
	secOpts, err := sec.ClientOpts()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(append(secOpts, kgo.SeedBrokers(broker), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))...)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()

	// The oracle: per key, records applied, sum of offsets, last offset.
	var mu sync.Mutex
	next := map[int32]int64{}
	oracle := map[int64][3]int64{}
	var total int64
	produce := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		recs := make([]*kgo.Record, 0, n)
		for i := 0; i < n; i++ {
			k := rng.Int64N(keys)
			p := int32(k % parts)
			off := next[p]
			next[p]++
			v, _ := json.Marshal(map[string]int64{"k": k, "cnt": 1, "sum_off": off, "last_off": off})
			recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Value: v})
			s := oracle[k]
			oracle[k] = [3]int64{s[0] + 1, s[1] + off, off}
			total++
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Error(err)
		}
	}
	produce(500)
	stopProducing := make(chan struct{})
	producerDone := make(chan struct{})
	go func() {
		defer close(producerDone)
		for {
			select {
			case <-stopProducing:
				return
			case <-time.After(50 * time.Millisecond):
				produce(25)
			}
		}
	}()
	defer func() {
		select {
		case <-stopProducing:
		default:
			close(stopProducing)
		}
		<-producerDone
	}()

	sinkEnv := append(append(os.Environ(), env...), "HOME="+dir,
		"SILT_KAFKA_SASL_MECHANISM=SCRAM-SHA-256", "SILT_KAFKA_SASL_USERNAME="+user, "SILT_KAFKA_SASL_PASSWORD="+pass,
		"SILT_KAFKA_TLS=true", "SILT_KAFKA_TLS_CA_FILE="+caFile, "SILT_KAFKA_TLS_SERVER_NAME="+failoverServerName,
		"SILT_KAFKA_SESSION_TIMEOUT="+session.String())
	var procs []*sinkProc
	start := func(name string) *sinkProc {
		cmd := exec.Command(siltBin, "sink", "--brokers", broker, "--topic", "events", "--table", "app.counters", "--format", "json",
			"--group", "g", "--member", name, "--commit-interval", "50ms", "--stats-interval", "0")
		cmd.Env = sinkEnv
		p := &sinkProc{name: name, cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
		cmd.Stderr = p.stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.done <- cmd.Wait() }()
		procs = append(procs, p)
		return p
	}
	defer func() {
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			<-p.done
			p.done <- nil
			if t.Failed() {
				t.Logf("stderr of %s:\n%s", p.name, p.stderr.String())
			}
			if strings.Contains(p.stderr.String(), pass) {
				t.Errorf("%s printed the password", p.name)
			}
		}
	}()
	kill9 := func(p *sinkProc) {
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := <-p.done
		p.done <- err
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("%s did not die of SIGKILL: %v\n%s", p.name, err, p.stderr.String())
		}
	}
	waitFor := func(what string, timeout time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, timeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Two members share the partitions.
	a, b := start("m1"), start("m2")
	waitFor("both members own partitions", 60*time.Second, func() bool {
		oa, ob := a.owns(), b.owns()
		return len(oa) > 0 && len(ob) > 0 && len(oa)+len(ob) == parts
	})
	time.Sleep(time.Duration(200+rng.IntN(500)) * time.Millisecond)
	t.Logf("before kill -9: m1 owns %v, m2 owns %v", a.owns(), b.owns())

	// kill -9 m2: m1 takes over its partitions after the session timeout.
	killed := time.Now()
	kill9(b)
	waitFor("m1 owns every partition after m2's kill -9", session+margin+20*time.Second, func() bool { return len(a.owns()) == parts })
	takeover := time.Since(killed)
	t.Logf("takeover: m1 owns all %d partitions %s after m2's kill -9 (session timeout %s)", parts, takeover.Round(time.Millisecond), session)
	if takeover > session+margin {
		t.Fatalf("takeover took %s, more than the session timeout %s + %s", takeover, session, margin)
	}

	// m2 comes back; then m1 is killed mid-stream and comes back.
	b = start("m2")
	waitFor("the restarted m2 owns partitions", 60*time.Second, func() bool { return len(b.owns()) > 0 })
	time.Sleep(time.Duration(100+rng.IntN(700)) * time.Millisecond)
	kill9(a)
	time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
	a = start("m1")

	time.Sleep(time.Second)
	close(stopProducing)
	<-producerDone
	mu.Lock()
	want := total
	mu.Unlock()
	query := "SELECT COUNT(*) AS n, SUM(cnt) AS s FROM app.counters"
	waitFor(fmt.Sprintf("the table holds all %d records", want), 90*time.Second, func() bool {
		r := silt(t, env, "", "--format", "csv", "sql", query)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 2 {
			return false
		}
		_, s, _ := strings.Cut(lines[1], ",")
		got, _ := strconv.ParseInt(s, 10, 64)
		if got > want {
			t.Fatalf("the table counts %d records, %d were produced: some applied twice", got, want)
		}
		return got == want
	})
	for _, p := range []*sinkProc{a, b} {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		err := <-p.done
		p.done <- err
		if err != nil {
			t.Errorf("%s: exit after SIGTERM: %v", p.name, err)
		}
	}
	var sb strings.Builder
	sb.WriteString("k,cnt,sum_off,last_off\n")
	ks := make([]int64, 0, len(oracle))
	for k := range oracle {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	for _, k := range ks {
		s := oracle[k]
		fmt.Fprintf(&sb, "%d,%d,%d,%d\n", k, s[0], s[1], s[2])
	}
	got := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT k, cnt, sum_off, last_off FROM app.counters ORDER BY k")
	if got != sb.String() {
		t.Fatalf("the table differs from the oracle (%d records produced)\ntable:\n%s\noracle:\n%s", want, got, sb.String())
	}
	t.Logf("%d records over %d keys, each applied exactly once", want, len(oracle))
}
