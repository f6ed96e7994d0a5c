package lifecycle

import (
	"context"
	"strings"
	"testing"

	"github.com/siltdb/silt/table"
)

// TestMaintainDryRunAutoTags: a dry run of Maintain lists the automatic
// tags AutoTag would create and delete, and creates or deletes none; the
// real run then does exactly that.
func TestMaintainDryRunAutoTags(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{}
	tb := autoTagTable(t, clock, map[string]string{
		table.OptTagAutoCreation: "process-time", table.OptTagCreationPeriod: "hourly", table.OptTagNumRetainedMax: "1",
	})
	commitAt(t, clock, tb, "2026-11-22T10:15:00Z", 1)
	clock.set("2026-11-22T11:05:00Z")
	if _, err := Maintain(ctx, tb, MaintainOptions{}); err != nil {
		t.Fatal(err)
	}
	commitAt(t, clock, tb, "2026-11-22T11:30:00Z", 2)
	clock.set("2026-11-22T12:05:00Z")
	before := tagState(t, tb)
	if before != "[2026-11-22T10=1(auto)]" {
		t.Fatalf("tags before the dry run: %s", before)
	}

	rep, err := Maintain(ctx, tb, MaintainOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Join(rep.Next, "\n")
	for _, want := range []string{"create automatic tags 2026-11-22T11", "delete automatic tags 2026-11-22T10"} {
		if !strings.Contains(next, want) {
			t.Errorf("dry run Next lacks %q:\n%s", want, next)
		}
	}
	if len(rep.TagsCreated)+len(rep.TagsDeleted) != 0 {
		t.Errorf("dry run reports tags as done: created %v deleted %v", rep.TagsCreated, rep.TagsDeleted)
	}
	if got := tagState(t, tb); got != before {
		t.Fatalf("dry run changed the tags: %s, want %s", got, before)
	}

	rep, err = Maintain(ctx, tb, MaintainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.TagsCreated, ",") != "2026-11-22T11" || strings.Join(rep.TagsDeleted, ",") != "2026-11-22T10" {
		t.Errorf("real run: created %v deleted %v", rep.TagsCreated, rep.TagsDeleted)
	}
	if got := tagState(t, tb); got != "[2026-11-22T11=2(auto)]" {
		t.Errorf("tags after the run: %s", got)
	}
	// Nothing is due any more: the dry run lists no tag action.
	rep, err = Maintain(ctx, tb, MaintainOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if next := strings.Join(rep.Next, "\n"); strings.Contains(next, "automatic tags") {
		t.Errorf("dry run after the run still lists tag actions:\n%s", next)
	}
}
