package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// progress prints a one-line progress bar for long operations to w,
// redrawing at most every interval.
type progress struct {
	w        io.Writer
	label    string
	total    int64
	interval time.Duration
	last     time.Time
	start    time.Time
	now      func() time.Time
}

func newProgress(w io.Writer, label string, total int64) *progress {
	now := time.Now
	return &progress{w: w, label: label, total: total, interval: 200 * time.Millisecond, start: now(), now: now}
}

// update redraws the bar if the interval has passed.
func (p *progress) update(done, rows int64) {
	t := p.now()
	if t.Sub(p.last) < p.interval {
		return
	}
	p.last = t
	p.draw(done, rows)
}

func (p *progress) draw(done, rows int64) {
	const width = 30
	frac := 0.0
	if p.total > 0 {
		frac = float64(done) / float64(p.total)
	}
	frac = min(max(frac, 0), 1)
	n := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		if i < n {
			bar[i] = '#'
		} else {
			bar[i] = '.'
		}
	}
	el := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(rows) / el
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %d rows (%.0f rows/s)", p.label, bar, frac*100, rows, rate)
}

// finish draws the final state and ends the line.
func (p *progress) finish(done, rows int64) {
	p.draw(done, rows)
	fmt.Fprintln(p.w)
}

// countingReader counts bytes read.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// syncWriter serializes the writes of a command and of its background
// notices (S3 waits, write stalls) to one stream, and remembers whether
// the last write ended its line (a progress bar's does not).
type syncWriter struct {
	mu      sync.Mutex
	w       io.Writer
	midLine bool
	// noticed: the last write was a notice, which ended the bar's line
	// already; a bare newline ending the bar is then dropped.
	noticed bool
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noticed && string(p) == "\n" {
		s.noticed = false
		return len(p), nil
	}
	s.noticed = false
	if len(p) > 0 {
		s.midLine = p[len(p)-1] != '\n'
	}
	return s.w.Write(p)
}

// line writes msg on a line of its own, ending a progress bar's line
// first; the bar redraws below it.
func (s *syncWriter) line(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.midLine {
		fmt.Fprintln(s.w)
	}
	fmt.Fprintln(s.w, msg)
	s.midLine, s.noticed = false, true
}

// notice prints a background notice on stderr, on a line of its own.
func (a *app) notice(msg string) {
	if a.logNotice != nil {
		a.logNotice(msg)
		return
	}
	if sw, ok := a.stderr.(*syncWriter); ok {
		sw.line("silt: " + msg)
		return
	}
	fmt.Fprintln(a.stderr, "silt: "+msg)
}

// When an S3 operation has waited s3WaitFirst, a notice says so, and
// again every s3WaitEvery while the wait goes on.
const (
	s3WaitFirst = 5 * time.Second
	s3WaitEvery = 10 * time.Second
	s3WaitPoll  = 500 * time.Millisecond
)

// s3Waits is the tracker of this invocation's S3 operations.
func (a *app) s3Waits() *objstore.InFlight {
	if a.waits == nil {
		a.waits = objstore.NewInFlight(nil)
	}
	return a.waits
}

// watchS3 starts, once, the watcher that tells the user when an S3
// operation has been waiting for a while ("waiting on S3 for 15 s"), for
// every command that opens an S3 store (load, compact, maintain, sql, …).
// It stops when the command ends; ctx's end (Ctrl-C) ends the waits
// themselves.
func (a *app) watchS3(ctx context.Context) {
	if a.waitsWatched {
		return
	}
	a.waitsWatched = true
	f := a.s3Waits()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s3WaitPoll)
		defer tick.Stop()
		var next, last time.Duration
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			age, n := f.Oldest()
			if age < last || age < s3WaitFirst {
				next = s3WaitFirst // a new wait
			}
			last = age
			if n == 0 || age < next {
				continue
			}
			next = age + s3WaitEvery
			a.notice(fmt.Sprintf("waiting on S3 for %d s (%d %s in flight; each request times out after %s; Ctrl-C stops)",
				int(age.Seconds()), n, plural(n, "operation", "operations"), a.s3Budget()))
		}
	}()
	a.onClose(func() error {
		close(stop)
		<-done
		return nil
	})
}

// s3Budget describes the per-request time budget for the wait notice.
func (a *app) s3Budget() string {
	base, tp := objstore.DefaultRequestTimeout.String(), humanBytes(objstore.DefaultMinThroughput)
	if v := a.getenv("SILT_S3_REQUEST_TIMEOUT"); v != "" {
		base = v
	}
	if v := a.getenv("SILT_S3_MIN_THROUGHPUT"); v != "" {
		tp = v
	}
	return fmt.Sprintf("%s + size at %s/s, SILT_S3_REQUEST_TIMEOUT", base, tp)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// onStall prints a writer's stall notices (table.Env.OnStall).
func (a *app) onStall(s table.StallInfo) {
	a.notice(s.String())
}
