package testkit

import (
	"flag"
	"regexp"
	"testing"
)

func TestRunPattern(t *testing.T) {
	for name, want := range map[string]string{
		"TestX":          "^TestX$",
		"TestX/123":      "^TestX$/^123$",
		"TestX/a.b(c)+d": `^TestX$/^a\.b\(c\)\+d$`,
		"TestX/#01":      "^TestX$",
		"TestX/a/#00":    "^TestX$/^a$",
		"TestX/#01/#02":  "^TestX$",
	} {
		got := runPattern(name)
		if got != want {
			t.Errorf("runPattern(%q) = %q, want %q", name, got, want)
		}
		for i, part := range regexp.MustCompile("/").Split(got, -1) {
			if !regexp.MustCompile(part).MatchString(regexp.MustCompile("/").Split(name, -1)[i]) {
				t.Errorf("level %d of %q does not match %q", i, got, name)
			}
		}
	}
}

func TestPackageDir(t *testing.T) {
	if got := packageDir(); got != "./internal/testkit" {
		t.Fatalf("packageDir() = %q, want ./internal/testkit", got)
	}
}

// setFlag sets -seed for the test and restores it afterwards.
func setFlag(t *testing.T, v string) {
	old := flag.Lookup("seed").Value.String()
	if err := flag.Set("seed", v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set("seed", old) })
}

func TestFixed(t *testing.T) {
	setFlag(t, "0")
	t.Setenv(SeedEnv, "")
	if s, ok := Fixed(t); ok {
		t.Fatalf("no flag, no env: Fixed = %d, true", s)
	}
	if got := Seeds(t, 3); len(got) != 3 || got[0] == got[1] {
		t.Fatalf("Seeds(3) without a fixed seed = %v, want 3 distinct", got)
	}
	t.Setenv(SeedEnv, "42")
	if s, ok := Fixed(t); !ok || s != 42 {
		t.Fatalf("%s=42: Fixed = %d, %v", SeedEnv, s, ok)
	}
	setFlag(t, "7")
	if s, ok := Fixed(t); !ok || s != 7 {
		t.Fatalf("-seed 7 beats %s: Fixed = %d, %v", SeedEnv, s, ok)
	}
	if got := Seeds(t, 3); len(got) != 1 || got[0] != 7 {
		t.Fatalf("Seeds(3) with -seed 7 = %v, want [7]", got)
	}
	if got := Seed(t); got != 7 {
		t.Fatalf("Seed = %d, want 7", got)
	}
}
