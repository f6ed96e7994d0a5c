package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSinkNestedSchemaEvolution: `silt sink --schema-evolution
// add-columns` over Debezium events whose schema gains a struct, then a
// field of it and an array: the table gets a ROW column, the new ROW
// field and an ARRAY column, and the values land in them (rows written
// before read NULL).
func TestSinkNestedSchemaEvolution(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "users"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE app; CREATE TABLE app.users (id BIGINT, name STRING, PRIMARY KEY (id))")
	base := `{"field":"id","type":"int64"},{"field":"name","type":"string","optional":true}`
	addr1 := `,{"field":"addr","type":"struct","optional":true,"fields":[{"field":"city","type":"string","optional":true}]}`
	addr2 := `,{"field":"addr","type":"struct","optional":true,"fields":[{"field":"city","type":"string","optional":true},{"field":"zip","type":"int32","optional":true}]}` +
		`,{"field":"tags","type":"array","optional":true,"items":{"type":"string"}}`
	event := func(fields, after string) *kgo.Record {
		v := fmt.Sprintf(`{"schema":{"type":"struct","fields":[{"type":"struct","field":"before","optional":true,"fields":[%s]},{"type":"struct","field":"after","optional":true,"fields":[%s]},{"field":"op","type":"string"}]},"payload":{"op":"c","before":null,"after":%s}}`, fields, fields, after)
		return &kgo.Record{Topic: "users", Value: []byte(v)}
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prod.ProduceSync(ctx,
		event(base, `{"id":1,"name":"u1"}`),
		event(base+addr1, `{"id":2,"name":"u2","addr":{"city":"c2"}}`),
		event(base+addr2, `{"id":3,"name":"u3","addr":{"city":"c3","zip":12345},"tags":["a","b,c"]}`),
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(siltBin, "sink", "--brokers", broker, "--topic", "users", "--table", "app.users", "--format", "debezium-json",
		"--group", "g", "--commit-interval", "100ms", "--schema-evolution", "add-columns", "--stats-interval", "0")
	cmd.Env = append(append(os.Environ(), env...), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	awaitTableThenStop(t, cmd, &errb, env, "SELECT * FROM app.users ORDER BY id",
		"id,name,addr,tags\n1,u1,,\n"+
			`2,u2,"{""city"":""c2"",""zip"":null}",`+"\n"+
			`3,u3,"{""city"":""c3"",""zip"":12345}","[""a"",""b,c""]"`+"\n")
	if !strings.Contains(out.String(), "columns added 3") {
		t.Fatalf("sink output (want 3 columns added: addr, addr.zip, tags):\n%s", out.String())
	}
	desc := mustSilt(t, env, "", "--format", "csv", "sql", "SHOW CREATE TABLE app.users")
	if !strings.Contains(desc, "ROW<city STRING, zip INT>") || !strings.Contains(desc, "ARRAY<STRING>") {
		t.Errorf("table after the sink:\n%s", desc)
	}
}
