package s3test

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// FreezeProxy is a loopback TCP proxy in front of the test server that
// can stop forwarding bytes (Freeze) and start again (Resume): an S3
// endpoint that hangs the way a SIGSTOPped server does. Connections are
// still accepted while frozen; their bytes wait.
type FreezeProxy struct {
	// Addr is the proxy's host:port, an endpoint for S3Config.
	Addr string

	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	closed bool
	// trigger, when set, freezes the proxy as soon as the client sends
	// bytes containing it (e.g. "PUT /bucket/key"), before forwarding them.
	trigger []byte
	// rate, when positive, limits each direction of each connection to
	// that many bytes per second: a slow but live endpoint.
	rate  int64
	conns map[net.Conn]struct{}
}

// NewFreezeProxy starts a proxy to target (host:port); it stops when the
// test ends.
func NewFreezeProxy(t testing.TB, target string) *FreezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FreezeProxy{Addr: ln.Addr().String(), ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Freeze stops forwarding: every byte in either direction waits.
func (p *FreezeProxy) Freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

// FreezeOn freezes the proxy when a client next sends bytes containing
// s, such as a request line "GET /bucket/prefix/data/": a freeze in the
// middle of a command, at a chosen request. The bytes are held.
func (p *FreezeProxy) FreezeOn(s string) {
	p.mu.Lock()
	p.trigger = []byte(s)
	p.mu.Unlock()
}

// SetRate limits forwarding to bytesPerSec in each direction of each
// connection (0: unlimited).
func (p *FreezeProxy) SetRate(bytesPerSec int64) {
	p.mu.Lock()
	p.rate = bytesPerSec
	p.mu.Unlock()
}

// Resume forwards again, held bytes first.
func (p *FreezeProxy) Resume() {
	p.mu.Lock()
	p.frozen = false
	p.trigger = nil
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *FreezeProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
}

func (p *FreezeProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *FreezeProxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				return
			}
			if !p.track(in) || !p.track(out) {
				in.Close()
				out.Close()
				return
			}
			go p.pipe(out, in, true)
			p.pipe(in, out, false)
		}()
	}
}

// pipe copies src to dst, holding bytes while frozen.
func (p *FreezeProxy) pipe(dst, src net.Conn, fromClient bool) {
	defer func() {
		dst.Close()
		src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if fromClient && p.trigger != nil && bytes.Contains(buf[:n], p.trigger) {
				p.frozen = true
			}
			for p.frozen && !p.closed {
				p.cond.Wait()
			}
			closed, rate := p.closed, p.rate
			p.mu.Unlock()
			if closed {
				return
			}
			if rate > 0 {
				time.Sleep(time.Duration(float64(n) / float64(rate) * float64(time.Second)))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // EOF or a closed connection
			return
		}
	}
}
