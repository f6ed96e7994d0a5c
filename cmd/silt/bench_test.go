package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchCLI(t *testing.T) {
	wh := t.TempDir()
	r := silt(t, nil, "", "bench", "history", "--rows", "11", "--json", "--warehouse", wh)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Scenario     string `json:"scenario"`
		Store        string `json:"store"`
		Measurements []struct {
			System string             `json:"system"`
			Values map[string]float64 `json:"values"`
		} `json:"measurements"`
		Targets []map[string]any `json:"targets"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if doc.Scenario != "history" || doc.Store != "local" || len(doc.Measurements) != 2 || len(doc.Targets) != 1 {
		t.Fatalf("unexpected result: %+v", doc)
	}
	if !strings.Contains(r.stderr, "bench: history") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}

	// Text output, and a store run on a local warehouse says it is not S3.
	r = silt(t, nil, "", "bench", "store", "--rows", "2", "--warehouse", wh)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "silt bench store") || !strings.Contains(r.stdout, "not S3") {
		t.Errorf("store on a local warehouse:\n%s", r.stdout)
	}

	r = silt(t, nil, "", "bench", "nope")
	if r.code != 2 || !strings.Contains(r.stderr, "unknown benchmark scenario") {
		t.Errorf("unknown scenario: exit %d, %q", r.code, r.stderr)
	}
	r = silt(t, nil, "", "bench")
	if r.code != 2 || !strings.Contains(r.stderr, "ingest") {
		t.Errorf("no scenario: exit %d, %q", r.code, r.stderr)
	}
}

// TestBenchSinkCLI runs the sink scenario tiny with the stream package's
// engine wired: peer, decode-only limit and catch-up on both stores.
func TestBenchSinkCLI(t *testing.T) {
	r := silt(t, nil, "", "bench", "sink", "--rows", "300", "--json", "--warehouse", t.TempDir())
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Measurements []struct {
			System string             `json:"system"`
			Case   string             `json:"case"`
			Values map[string]float64 `json:"values"`
		} `json:"measurements"`
		Ratios map[string]float64 `json:"ratios"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	got := map[string]map[string]float64{}
	for _, m := range doc.Measurements {
		got[m.System+" / "+m.Case] = m.Values
	}
	for _, k := range []string{"franz-go consume / raw, group consumer (peer)", "silt decode-only / debezium-json (limit)",
		"silt sink / catch-up, local store", "silt sink / catch-up, in-memory store (no I/O)"} {
		v, ok := got[k]
		if !ok || v["records_per_s"] <= 0 {
			t.Fatalf("no rate for %q: %v", k, got)
		}
	}
	dec, sink := got["silt decode-only / debezium-json (limit)"], got["silt sink / catch-up, local store"]
	if dec["rows_written"] <= 0 || sink["rows_written"] != dec["rows_written"] || sink["commits"] < 1 {
		t.Errorf("decode-only made %v changes, the sink wrote %v rows in %v commits", dec["rows_written"], sink["rows_written"], sink["commits"])
	}
	if doc.Ratios["sink_records_per_s / decode_only_records_per_s"] <= 0 {
		t.Errorf("ratios %v", doc.Ratios)
	}
}
