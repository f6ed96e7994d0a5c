package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// findChromium returns a headless-capable Chromium (SILT_CHROMIUM, or
// Debian's chromium on PATH). Without one the console test skips, except
// under CI=true where it fails (scripts/test.sh installs Debian's package).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SILT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH (apt-get install chromium, or set SILT_CHROMIUM): the console screenshot test cannot run"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// chromium runs headless Chromium on url with extra flags and returns
// its stdout.
func chromium(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,900", "--virtual-time-budget=10000"}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.String()
}

// TestConsoleScreenshot serves a table with several snapshots, a tag, a
// branch and compacted buckets, loads the console in headless Chromium,
// checks the rendered DOM (timeline, tag, branch, bucket levels) and that
// the screenshot is a real 1280x900 image showing the level and tag colours.
func TestConsoleScreenshot(t *testing.T) {
	bin := findChromium(t)
	wh := filepath.Join(t.TempDir(), "wh")
	env := []string{"SILT_WAREHOUSE=" + wh}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; CREATE TABLE shop.orders (id BIGINT, note STRING, PRIMARY KEY (id)) "+
		"WITH ('bucket' = '2', 'snapshot.num-retained.min' = '5', 'snapshot.time-retained' = '1d')")
	for i := 0; i < 7; i++ {
		mustSilt(t, env, "", "sql", fmt.Sprintf("INSERT INTO shop.orders VALUES (%d, 'a'), (%d, 'b'), (%d, 'c')", 3*i, 3*i+1, 3*i+2))
	}
	// A tag and a branch, made with the manifest API.
	ctx := context.Background()
	st, err := objstore.NewLocal(wh)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := catalog.New(st, "", table.Env{}).LoadTable(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	s3, err := tbl.Meta().Snapshot(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Meta().CreateTag(ctx, "release-1", s3, false); err != nil {
		t.Fatal(err)
	}
	s5, err := tbl.Meta().Snapshot(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Meta().CreateBranch(ctx, "experiment", s5, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Compact(ctx, table.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	buckets, err := tbl.BucketStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deep := false
	for _, b := range buckets {
		deep = deep || len(b.FilesPerLevel) > 1
	}
	if !deep {
		t.Fatalf("the table should have files above level 0: %+v", buckets)
	}

	// Lifecycle runs once at start (nothing is old enough to expire).
	p := startServe(t, env, "--listen", "127.0.0.1:0", "--compact-interval", "0", "--maintain-interval", "1h",
		"--maintain-tables", "shop.orders", "--log-format", "json")
	p.waitFor("the lifecycle run", 10*time.Second, func() bool {
		v, _ := metric(p.scrape(), "silt_maintenance_runs_total", `table="shop.orders"`, `result="ok"`)
		return v == 1
	})
	url := p.base + "/?table=shop.orders"

	dom := chromium(t, bin, url, "--dump-dom")
	for _, want := range []string{
		`<title>silt console: shop.orders</title>`, `data-rendered="true"`,
		`data-snapshot="1"`, `data-snapshot="7"`, `data-tag="release-1"`, `data-branch="experiment"`,
		`data-bucket="bucket-0"`, `data-bucket="bucket-1"`, `data-level="0"`, `class="file"`,
		`rendered shop.orders:`, `1 tags, 1 branches, 2 buckets`,
		`snapshot.time-retained`, `last run `,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered console lacks %q:\n%s", want, dom)
		}
	}
	// The tag sits on snapshot 3's card, the branch on snapshot 5's.
	for id, ref := range map[int]string{3: `data-tag="release-1"`, 5: `data-branch="experiment"`} {
		card := dom[strings.Index(dom, fmt.Sprintf(`data-snapshot="%d"`, id)):]
		card = card[:strings.Index(card, "</div>")]
		if !strings.Contains(card, ref) {
			t.Errorf("snapshot %d's card lacks %s: %s", id, ref, card)
		}
	}

	shot := filepath.Join(t.TempDir(), "console.png")
	if dir := os.Getenv("SILT_TEST_SCREENSHOT_DIR"); dir != "" {
		shot = filepath.Join(dir, "console.png")
	}
	chromium(t, bin, url, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Fatalf("screenshot is %dx%d, want 1280x900", b.Dx(), b.Dy())
	}
	colours := countColours(img)
	if len(colours) < 20 {
		t.Errorf("screenshot has %d distinct colours: blank or unstyled", len(colours))
	}
	// Solid fills of console.css: level-0 files, deeper files, the tag and
	// branch labels, the header.
	for name, rgb := range map[string][3]uint8{
		"level-0 file (#e67e22)": {0xe6, 0x7e, 0x22}, "level >= 1 file (#2f6fb3)": {0x2f, 0x6f, 0xb3},
		"tag label (#2e8b57)": {0x2e, 0x8b, 0x57}, "branch label (#8e44ad)": {0x8e, 0x44, 0xad}, "header (#24303f)": {0x24, 0x30, 0x3f},
	} {
		if n := colours[rgb]; n < 40 {
			t.Errorf("screenshot shows %d pixels of the %s colour; the console did not render it", n, name)
		}
	}
	t.Logf("screenshot %s: %d distinct colours", shot, len(colours))
}

func countColours(img image.Image) map[[3]uint8]int {
	out := map[[3]uint8]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out[[3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}]++
		}
	}
	return out
}
