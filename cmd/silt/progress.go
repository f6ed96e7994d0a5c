package main

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
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
