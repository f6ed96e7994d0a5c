package table

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// History option keys (see OptionDocs for defaults and meaning). The names
// follow Apache Paimon's.
const (
	OptChangelogProducer  = "changelog-producer"
	OptTagAutoCreation    = "tag.automatic-creation"
	OptTagCreationPeriod  = "tag.creation-period"
	OptTagCreationDelay   = "tag.creation-delay"
	OptTagNumRetainedMax  = "tag.num-retained-max"
	OptTagDefaultRetained = "tag.default-time-retained"
	// OptRebuildSource records, on a table made by silt rebuild, the table
	// it replays (db.table). Rebuild refuses to write into a table that
	// does not carry it.
	OptRebuildSource = "rebuild.source"
)

// Changelog producers (changelog-producer).
const (
	// ProducerNone writes no changelog files: readers of changes diff
	// snapshots.
	ProducerNone = "none"
	// ProducerInput writes the rows of each commit as written, with their
	// row kinds.
	ProducerInput = "input"
	// ProducerLookup looks up each written key's state before the commit
	// and writes the complete changelog: +I, -U/+U pairs with the before
	// image, -D (see changelog_writer.go).
	ProducerLookup = "lookup"
)

// Automatic tag creation modes and periods.
const (
	TagCreationNone        = "none"
	TagCreationProcessTime = "process-time"

	TagPeriodDaily    = "daily"
	TagPeriodHourly   = "hourly"
	TagPeriodTwoHours = "two-hours"
)

// HistoryOptions are the changelog producer and automatic tag options.
type HistoryOptions struct {
	// ChangelogProducer is ProducerNone, ProducerInput or ProducerLookup.
	ChangelogProducer string
	// TagCreation is TagCreationNone or TagCreationProcessTime.
	TagCreation string
	// TagPeriod is TagPeriodDaily, TagPeriodHourly or TagPeriodTwoHours.
	TagPeriod string
	// TagDelay: the tag of a period is created once this much time has
	// passed after the period's end (0: right away).
	TagDelay time.Duration
	// TagRetainedMax: AutoTag deletes the oldest automatic tags beyond this
	// many (0: no limit). Tags made by hand are never deleted.
	TagRetainedMax int
	// TagTimeRetained: AutoTag deletes automatic tags created longer ago
	// than this (0: kept until TagRetainedMax removes them).
	TagTimeRetained time.Duration
	// RebuildSource is the table a rebuilt table replays ("" otherwise).
	RebuildSource string
}

func historyOptionDocs() []OptionDoc {
	return []OptionDoc{
		{OptChangelogProducer, ProducerNone, "changelog files written with each commit: none | input (rows as written) | lookup (complete: +I, -U/+U with before-images, -D, from the state before the commit; one writer per bucket)"},
		{OptTagAutoCreation, TagCreationNone, "none | process-time: silt maintain tags the latest snapshot once per completed period"},
		{OptTagCreationPeriod, TagPeriodDaily, "period of automatic tags: daily (tag 2026-11-22) | hourly (2026-11-22T13) | two-hours (2026-11-22T12)"},
		{OptTagCreationDelay, "0", "automatic tags: wait this long after a period ends before tagging it, e.g. 10m"},
		{OptTagNumRetainedMax, "", "automatic tags: keep at most this many, deleting the oldest (manual tags are never deleted)"},
		{OptTagDefaultRetained, "", "automatic tags: delete those created longer ago than this, e.g. 30d"},
		{OptRebuildSource, "", "set by silt rebuild: the table this one replays (db.table)"},
	}
}

func isHistoryOption(k string) bool {
	switch k {
	case OptChangelogProducer, OptTagAutoCreation, OptTagCreationPeriod, OptTagCreationDelay,
		OptTagNumRetainedMax, OptTagDefaultRetained, OptRebuildSource:
		return true
	}
	return false
}

func (h *HistoryOptions) set(k, v string) error {
	var err error
	switch k {
	case OptChangelogProducer:
		h.ChangelogProducer, err = optionOneOf(k, v, ProducerNone, ProducerInput, ProducerLookup)
	case OptTagAutoCreation:
		h.TagCreation, err = optionOneOf(k, v, TagCreationNone, TagCreationProcessTime)
	case OptTagCreationPeriod:
		h.TagPeriod, err = optionOneOf(k, v, TagPeriodDaily, TagPeriodHourly, TagPeriodTwoHours)
	case OptTagCreationDelay:
		if d, perr := time.ParseDuration(strings.TrimSpace(v)); strings.TrimSpace(v) == "0" || (perr == nil && d == 0) {
			h.TagDelay = 0 // no delay: 0, 0s, 0m, …
			break
		}
		h.TagDelay, err = ParseDuration(k, v)
	case OptTagNumRetainedMax:
		n, perr := strconv.Atoi(strings.TrimSpace(v))
		if perr != nil || n < 1 {
			err = fmt.Errorf("%w: option %s: %q is not a positive integer", types.ErrInvalid, k, v)
		}
		h.TagRetainedMax = n
	case OptTagDefaultRetained:
		h.TagTimeRetained, err = ParseDuration(k, v)
	case OptRebuildSource:
		h.RebuildSource = strings.TrimSpace(v)
		db, t, ok := strings.Cut(h.RebuildSource, ".")
		if !ok || types.ValidateIdentifier("database", db) != nil || types.ValidateIdentifier("table", t) != nil {
			err = fmt.Errorf("%w: option %s: %q is not a db.table name", types.ErrInvalid, k, v)
		}
	}
	return err
}

// optionOneOf returns v (trimmed, lower-cased) if it is one of allowed.
func optionOneOf(k, v string, allowed ...string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", fmt.Errorf("%w: option %s: unknown value %q (want %s)", types.ErrInvalid, k, v, strings.Join(allowed, ", "))
}

func (h *HistoryOptions) finish() error {
	if h.ChangelogProducer == "" {
		h.ChangelogProducer = ProducerNone
	}
	if h.TagCreation == "" {
		h.TagCreation = TagCreationNone
	}
	if h.TagPeriod == "" {
		h.TagPeriod = TagPeriodDaily
	}
	return nil
}
