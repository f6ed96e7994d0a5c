package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// loadEnv makes a warehouse with table shop.items and returns the
// environment and a function that writes a file and runs silt load on it.
func loadEnv(t *testing.T) (env []string, load func(name, content string) result, count func() string) {
	t.Helper()
	dir := t.TempDir()
	env = []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; CREATE TABLE shop.items (id BIGINT, name STRING, qty INT, PRIMARY KEY (id))")
	load = func(name, content string) result {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return silt(t, env, "", "load", "shop.items", path)
	}
	count = func() string {
		t.Helper()
		return strings.TrimSpace(mustSilt(t, env, "", "--format", "csv", "sql", "SELECT COUNT(*) AS n FROM shop.items"))
	}
	return env, load, count
}

// wantLoadError checks that a load failed with a one-line error holding
// every part of want, and that nothing was committed.
func wantLoadError(t *testing.T, r result, count func() string, want ...string) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("load succeeded, want an error with %q\nstdout: %s", want, r.stdout)
		return
	}
	// stderr: the progress line, then the error.
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	msg := lines[len(lines)-1]
	if !strings.HasPrefix(msg, "silt: load ") {
		t.Errorf("the error is not the last line of stderr, alone: %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	if n := count(); n != "n\n0" {
		t.Errorf("after a failed load the table has rows: %q", n)
	}
}

// TestLoadJSONLOneObjectPerLine: a line holding two objects, or an object
// followed by other text, is an error naming the line, and nothing is
// loaded; blank lines are skipped.
func TestLoadJSONLOneObjectPerLine(t *testing.T) {
	_, load, count := loadEnv(t)
	wantLoadError(t, load("two.jsonl", `{"id":0}`+"\n"+`{"id":1}{"id":2}`+"\n"), count, "line 2", "more than one JSON value")
	wantLoadError(t, load("garbage.jsonl", `{"id":3} trailing garbage`+"\n"), count, "line 1", "text after the JSON object")
	wantLoadError(t, load("array.jsonl", `{"id":3}`+"\n"+`[1]`+"\n"), count, "line 2", "not a JSON object")
	r := load("blank.jsonl", "\n"+`{"id":5}`+"\n  \t\r\n"+`{"id":6}`+"\r\n\n")
	if r.code != 0 || !strings.Contains(r.stdout, "loaded 2 rows") {
		t.Fatalf("blank lines: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestLoadInputEdges: a byte order mark is skipped; surrounding spaces in a
// non-STRING value, invalid UTF-8 and repeated JSON keys are errors naming
// the line and column; nothing is committed after an error.
func TestLoadInputEdges(t *testing.T) {
	_, load, count := loadEnv(t)
	wantLoadError(t, load("spaces.csv", "id,name,qty\n1,a,2\n2,b, 1 \n"), count, "line 3", `column "qty"`, "remove the surrounding spaces")
	wantLoadError(t, load("spaces.jsonl", `{"id": 1, "qty": " 1"}`+"\n"), count, "line 1", `column "qty"`, "remove the surrounding spaces")
	wantLoadError(t, load("utf8.csv", "id,name\n1,ok\n2,bad \xff\n"), count, "line 3", `column "name"`, "invalid UTF-8")
	wantLoadError(t, load("utf8.jsonl", `{"id": 1, "name": "ok"}`+"\n"+"{\"id\": 2, \"name\": \"bad \xff\"}\n"), count, "line 2", "invalid UTF-8", "byte 24")
	wantLoadError(t, load("dup.jsonl", `{"id": 1}`+"\n"+`{"id": 2, "name": "a", "name": "b"}`+"\n"), count, "line 2", `key "name" appears twice`)
	wantLoadError(t, load("bytes.csv", "id,name\n\"1\",\"a\n"), count, "line 2", "not closed")

	// STRING keeps its spaces; a byte order mark is not part of the header.
	r := load("bom.csv", "\xef\xbb\xbfid,name,qty\r\n1, spaced ,3\r\n")
	if r.code != 0 || !strings.Contains(r.stdout, "loaded 1 rows") {
		t.Fatalf("csv with BOM: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = load("bom.jsonl", "\xef\xbb\xbf"+`{"id": 2, "name": "x", "qty": 4}`+"\n")
	if r.code != 0 || !strings.Contains(r.stdout, "loaded 1 rows") {
		t.Fatalf("jsonl with BOM: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := count(); n != "n\n2" {
		t.Fatalf("rows after BOM loads: %q", n)
	}
}

// TestLoadLongLine: a 70 MB JSONL line (the scanner stopped at 64 MiB
// without a line number) and a CSV record over many read buffers load. The
// JSONL line is mostly white space so that the test does not also store a
// 70 MB value; TestLoadRecordLimit covers the limit itself.
func TestLoadLongLine(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 70 MB of input")
	}
	_, load, count := loadEnv(t)
	r := load("long.jsonl", `{"id": 1, "name": "short"}`+"\n"+`{"id": 2,`+strings.Repeat(" ", 70<<20)+`"name": "padded"}`+"\n")
	if r.code != 0 || !strings.Contains(r.stdout, "loaded 2 rows") {
		t.Fatalf("70 MB JSONL line: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = load("long.csv", "id,name\n3,\""+strings.Repeat("x", 4<<20)+"\nsecond line\"\n")
	if r.code != 0 || !strings.Contains(r.stdout, "loaded 1 rows") {
		t.Fatalf("4 MB CSV record: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := count(); n != "n\n3" {
		t.Fatalf("rows: %q", n)
	}
}

// TestLoadRecordLimit: a JSONL line or CSV record over the limit is an
// error naming its line and the limit; one at the limit loads.
func TestLoadRecordLimit(t *testing.T) {
	s := loadSchema()
	const limit = 64
	ok := func(types.Row) error { return nil }
	atLimit := `{"id": 1, "name": "` + strings.Repeat("a", limit-len(`{"id": 1, "name": ""}`)) + `"}`
	if err := loadJSONL(strings.NewReader(atLimit+"\n"), s, limit, ok); err != nil {
		t.Errorf("line at the limit: %v", err)
	}
	err := loadJSONL(strings.NewReader(`{"id": 1}`+"\n"+atLimit+" \n"), s, limit, ok)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "64 B") {
		t.Errorf("JSONL line over the limit: %v", err)
	}
	// A CSV record over the limit, on one line and over several.
	err = loadCSV(strings.NewReader("id,name\n1,"+strings.Repeat("b", limit)+"\n"), s, limit, ok)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("CSV line over the limit: %v", err)
	}
	err = loadCSV(strings.NewReader("id,name\n1,\"x\n"+strings.Repeat("b\n", limit/2)+"\"\n"), s, limit, ok)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "too long") {
		t.Errorf("CSV record over the limit: %v", err)
	}
}

// TestLoadCSVFields: quoting rules of the CSV reader.
func TestLoadCSVFields(t *testing.T) {
	s := loadSchema()
	in := "id,name,ok\r\n" +
		"1,,\r\n" + // NULL, NULL
		"2,\"\",\"\"\r\n" + // empty string, NULL (not a STRING)
		"3,\"a,\"\"b\"\"\r\nc\",true\r\n" + // comma, quotes, CRLF kept inside quotes
		"\r\n" + // blank line skipped
		"4,\"x\",\n" + // LF line end, quoted last-but-one field
		"5,y,\"\"" // no final line break
	var got []types.Row
	err := loadCSV(strings.NewReader(in), s, maxLoadRecord, func(r types.Row) error {
		got = append(got, append(types.Row(nil), r...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.Row{
		{int64(1), nil, nil, nil, nil},
		{int64(2), "", nil, nil, nil},
		{int64(3), "a,\"b\"\r\nc", nil, nil, true},
		{int64(4), "x", nil, nil, nil},
		{int64(5), "y", nil, nil, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	for i := range want {
		for j := range want[i] {
			if !types.Equal(got[i][j], want[i][j]) || (got[i][j] == nil) != (want[i][j] == nil) {
				t.Errorf("row %d column %d: %#v, want %#v", i, j, got[i][j], want[i][j])
			}
		}
	}
	for in, wantErr := range map[string]string{
		"id,name\n1,a\"b\n":     `bare "`,
		"id,name\n1,\"a\"b\n":   "after the closing quote",
		"id,name\n1,\"a\n":      "not closed",
		"id,name\n1\n":          "1 fields, header has 2",
		"id,name\n1,a,b\n":      "3 fields, header has 2",
		"id,day\n1,2026-1-2\n":  "bad DATE",
		"id,name\n1,\"\xff\"\n": "invalid UTF-8",
	} {
		err := loadCSV(strings.NewReader(in), s, maxLoadRecord, ok0)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: %v, want an ErrInvalid naming line 2 and %q", in, err, wantErr)
		}
	}
}

func ok0(types.Row) error { return nil }
