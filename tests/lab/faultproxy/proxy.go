package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode says what the proxy sees of the traffic it forwards.
type Mode string

const (
	// ModeTCP forwards bytes as they come (TLS passes through untouched): cuts and stalls only.
	ModeTCP Mode = "tcp"
	// ModeHTTP sees plain HTTP on both sides: cuts, stalls and 503 answers.
	ModeHTTP Mode = "http"
	// ModeHTTPS terminates TLS with a certificate of its own and speaks TLS to the upstream: cuts, stalls and 503 answers.
	ModeHTTPS Mode = "https"
)

// Faults is what the proxy does to the connections it accepts; it can be changed while the proxy runs.
type Faults struct {
	// Cut is the share of new connections (0..1) closed with a reset after a random number of bytes.
	Cut float64 `json:"cut"`
	// Stall is the share of new connections (0..1) that stop forwarding for StallFor after a random number of bytes.
	Stall float64 `json:"stall"`
	// HTTP503 is the share of requests (0..1, http/https modes) answered 503 with Retry-After instead of forwarded.
	HTTP503 float64 `json:"http503"`
	// MaxBytes bounds the random byte count after which a cut or stall happens (both directions counted).
	MaxBytes int64 `json:"maxBytes"`
	// StallForMs is how long a stalled connection forwards nothing.
	StallForMs int64 `json:"stallForMs"`
	// RetryAfterSeconds goes in the 503 answers' Retry-After header.
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// CutAtTotalBytes, when above 0, cuts (once) whichever connection carries the proxy's byte number CutAtTotalBytes,
	// counted over all connections from the moment it is set: a cut in the middle of a known transfer.
	CutAtTotalBytes int64 `json:"cutAtTotalBytes"`
	// LoseAnswerTo, when set (modes http and https), makes the next request whose head or body contains it reach the
	// upstream whole, and its answer never reach the client: the connection is reset when the answer's first bytes
	// come. Once per setting: a request the server acted on while the client saw only a broken connection.
	LoseAnswerTo string `json:"loseAnswerTo"`
}

// Stats counts what the proxy did since it started.
type Stats struct {
	Connections int64 `json:"connections"`
	Active      int64 `json:"active"`
	Cuts        int64 `json:"cuts"`
	Stalls      int64 `json:"stalls"`
	Answered503 int64 `json:"answered503"`
	Requests    int64 `json:"requests"`
	BytesUp     int64 `json:"bytesUp"`
	BytesDown   int64 `json:"bytesDown"`
	AnswersLost int64 `json:"answersLost"`
}

// Proxy forwards connections to one upstream and injects faults as its Faults say.
type Proxy struct {
	Upstream string
	Mode     Mode
	// ServerTLS is the proxy's own certificate (ModeHTTPS).
	ServerTLS *tls.Config

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	// total counts bytes over all connections since CutAtTotalBytes was last set; cutAtDone marks it used.
	total     int64
	cutAtDone bool
	// loseAnswerDone marks LoseAnswerTo used.
	loseAnswerDone bool

	stats Stats
}

// NewProxy makes a proxy with no faults.
func NewProxy(upstream string, mode Mode, seed int64) *Proxy {
	return &Proxy{Upstream: upstream, Mode: mode, rng: rand.New(rand.NewSource(seed)),
		faults: Faults{MaxBytes: 4 << 20, StallForMs: 3000, RetryAfterSeconds: 1}}
}

// Faults returns the current settings.
func (p *Proxy) Faults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// SetFaults replaces the settings; new connections and requests follow them (a cut or stall already planned stays).
func (p *Proxy) SetFaults(f Faults) error {
	for name, v := range map[string]float64{"cut": f.Cut, "stall": f.Stall, "http503": f.HTTP503} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s must be a share between 0 and 1, not %v", name, v)
		}
	}
	if f.MaxBytes <= 0 {
		return fmt.Errorf("maxBytes must be above 0, not %d", f.MaxBytes)
	}
	if f.StallForMs < 0 || f.RetryAfterSeconds < 0 || f.CutAtTotalBytes < 0 {
		return fmt.Errorf("stallForMs, retryAfterSeconds and cutAtTotalBytes must not be negative")
	}
	if f.HTTP503 > 0 && p.Mode == ModeTCP {
		return fmt.Errorf("http503 needs -mode http or https: in tcp mode the proxy does not see requests")
	}
	if f.LoseAnswerTo != "" && p.Mode == ModeTCP {
		return fmt.Errorf("loseAnswerTo needs -mode http or https: in tcp mode the proxy does not see requests")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
	p.total = 0
	p.cutAtDone = false
	p.loseAnswerDone = false
	return nil
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Connections: atomic.LoadInt64(&p.stats.Connections),
		Active:      atomic.LoadInt64(&p.stats.Active),
		Cuts:        atomic.LoadInt64(&p.stats.Cuts),
		Stalls:      atomic.LoadInt64(&p.stats.Stalls),
		Answered503: atomic.LoadInt64(&p.stats.Answered503),
		Requests:    atomic.LoadInt64(&p.stats.Requests),
		BytesUp:     atomic.LoadInt64(&p.stats.BytesUp),
		BytesDown:   atomic.LoadInt64(&p.stats.BytesDown),
		AnswersLost: atomic.LoadInt64(&p.stats.AnswersLost),
	}
}

// Serve accepts connections until the listener closes.
func (p *Proxy) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go p.handle(c)
	}
}

// plan is one connection's fate: byte numbers (both directions counted) at which it is cut or stalled, -1 for never.
type plan struct {
	cutAt, stallAt int64
	stallFor       time.Duration
}

func (p *Proxy) newPlan() plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl := plan{cutAt: -1, stallAt: -1, stallFor: time.Duration(p.faults.StallForMs) * time.Millisecond}
	if p.rng.Float64() < p.faults.Cut {
		pl.cutAt = p.rng.Int63n(p.faults.MaxBytes + 1)
	}
	if p.rng.Float64() < p.faults.Stall {
		pl.stallAt = p.rng.Int63n(p.faults.MaxBytes + 1)
	}
	return pl
}

func (p *Proxy) answer503() (bool, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults.HTTP503 > 0 && p.rng.Float64() < p.faults.HTTP503, p.faults.RetryAfterSeconds
}

// takeLoseAnswer says whether the request (head and body) is the one whose answer is to be lost, and uses the fault up.
func (p *Proxy) takeLoseAnswer(request []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.faults.LoseAnswerTo == "" || p.loseAnswerDone || !bytes.Contains(request, []byte(p.faults.LoseAnswerTo)) {
		return false
	}
	p.loseAnswerDone = true
	return true
}

// countTotal adds n forwarded bytes to the proxy-wide count and says how many of them may pass before the
// CutAtTotalBytes cut (n when no such cut falls in them).
func (p *Proxy) countTotal(n int64) (allowed int64, cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.faults.CutAtTotalBytes
	if at <= 0 || p.cutAtDone || p.total+n < at {
		p.total += n
		return n, false
	}
	allowed = at - p.total
	p.total = at
	p.cutAtDone = true
	return allowed, true
}

// conn is one proxied connection: both directions share its byte count and plan.
type conn struct {
	p                *Proxy
	client, upstream net.Conn
	plan             plan
	// writeMu keeps a 503 answer from interleaving with an upstream answer on the client side.
	writeMu sync.Mutex
	mu      sync.Mutex
	count   int64
	stalled bool
	closed  bool
	// losingAnswer: the request now upstream is the LoseAnswerTo one; the first bytes of its answer reset the client.
	losingAnswer int32
	closeErr     string
}

func (p *Proxy) handle(client net.Conn) {
	atomic.AddInt64(&p.stats.Connections, 1)
	atomic.AddInt64(&p.stats.Active, 1)
	defer atomic.AddInt64(&p.stats.Active, -1)

	if p.Mode == ModeHTTPS {
		tc := tls.Server(client, p.ServerTLS)
		if err := tc.Handshake(); err != nil {
			client.Close()
			return
		}
		client = tc
	}
	var upstream net.Conn
	var err error
	if p.Mode == ModeHTTPS {
		// The lab's servers have self-signed certificates: the module checks the proxy's, the proxy trusts the lab.
		upstream, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", p.Upstream, &tls.Config{InsecureSkipVerify: true})
	} else {
		upstream, err = net.DialTimeout("tcp", p.Upstream, 10*time.Second)
	}
	if err != nil {
		log.Printf("dial %s: %s", p.Upstream, err)
		client.Close()
		return
	}
	c := &conn{p: p, client: client, upstream: upstream, plan: p.newPlan()}
	done := make(chan struct{}, 2)
	go func() {
		if p.Mode == ModeTCP {
			c.pipe(upstream, client, &p.stats.BytesUp)
		} else {
			c.requests()
		}
		done <- struct{}{}
	}()
	go func() {
		c.pipe(client, upstream, &p.stats.BytesDown)
		done <- struct{}{}
	}()
	<-done
	c.close(false)
	<-done
}

// close ends both sides; reset makes the client see a connection reset, as a broken network path does.
func (c *conn) close(reset bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	if reset {
		for _, n := range []net.Conn{c.client, c.upstream} {
			if tc, ok := underlyingTCP(n); ok {
				_ = tc.SetLinger(0)
			}
		}
	}
	c.client.Close()
	c.upstream.Close()
}

func underlyingTCP(n net.Conn) (*net.TCPConn, bool) {
	if tc, ok := n.(*tls.Conn); ok {
		n = tc.NetConn()
	}
	t, ok := n.(*net.TCPConn)
	return t, ok
}

// admit counts n bytes about to pass and returns how many may pass; 0 with cut=true when the connection dies here.
// A stall due within them sleeps before returning.
func (c *conn) admit(n int64) (allowed int64, cut bool) {
	c.mu.Lock()
	start := c.count
	allowed = n
	if c.plan.cutAt >= 0 && start+n > c.plan.cutAt {
		allowed, cut = c.plan.cutAt-start, true
		if allowed < 0 {
			allowed = 0
		}
	}
	stall := !c.stalled && c.plan.stallAt >= 0 && start+allowed > c.plan.stallAt
	if stall {
		c.stalled = true
	}
	c.count += allowed
	c.mu.Unlock()

	if total, totalCut := c.p.countTotal(allowed); totalCut {
		allowed, cut = total, true
	}
	if stall {
		atomic.AddInt64(&c.p.stats.Stalls, 1)
		time.Sleep(c.plan.stallFor)
	}
	return allowed, cut
}

// forward writes b to dst through admit; false when the connection was cut or a side failed.
func (c *conn) forward(dst net.Conn, b []byte, counter *int64) bool {
	if dst == c.client && atomic.LoadInt32(&c.losingAnswer) == 1 {
		atomic.AddInt64(&c.p.stats.AnswersLost, 1)
		c.close(true)
		return false
	}
	allowed, cut := c.admit(int64(len(b)))
	if allowed > 0 {
		if dst == c.client {
			c.writeMu.Lock()
		}
		_, err := dst.Write(b[:allowed])
		if dst == c.client {
			c.writeMu.Unlock()
		}
		atomic.AddInt64(counter, allowed)
		if err != nil {
			return false
		}
	}
	if cut {
		atomic.AddInt64(&c.p.stats.Cuts, 1)
		c.close(true)
		return false
	}
	return true
}

// pipe copies src to dst until either ends.
func (c *conn) pipe(dst, src net.Conn, counter *int64) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !c.forward(dst, buf[:n], counter) {
			return
		}
		if err != nil {
			return
		}
	}
}

// requests forwards the client's HTTP requests one at a time, answering some with 503 instead. A body it cannot
// frame (chunked) ends the parsing: the rest of the connection is forwarded as bytes.
func (c *conn) requests() {
	r := bufio.NewReaderSize(c.client, 64<<10)
	for {
		head, err := readHead(r)
		if err != nil {
			return
		}
		atomic.AddInt64(&c.p.stats.Requests, 1)
		length, chunked := bodyFraming(head)
		if refuse, retryAfter := c.p.answer503(); refuse {
			atomic.AddInt64(&c.p.stats.Answered503, 1)
			body := "lab fault proxy: 503 injected\n"
			answer := fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nRetry-After: %d\r\nContent-Type: text/plain\r\n"+
				"Content-Length: %d\r\nConnection: close\r\n\r\n%s", retryAfter, len(body), body)
			c.writeMu.Lock()
			_, _ = c.client.Write([]byte(answer))
			c.writeMu.Unlock()
			c.close(false)
			return
		}
		// The request as far as LoseAnswerTo looks (head and up to 1 MiB of body), checked before its last bytes go up.
		seen := append([]byte(nil), head...)
		if length == 0 && !chunked && c.p.takeLoseAnswer(seen) {
			atomic.StoreInt32(&c.losingAnswer, 1)
		}
		if !c.forward(c.upstream, head, &c.p.stats.BytesUp) {
			return
		}
		if chunked {
			c.pipe(c.upstream, readerConn{c.client, r}, &c.p.stats.BytesUp)
			return
		}
		buf := make([]byte, 32<<10)
		for length > 0 {
			n := int64(len(buf))
			if length < n {
				n = length
			}
			read, err := io.ReadFull(r, buf[:n])
			if len(seen) < 1<<20 {
				seen = append(seen, buf[:read]...)
			}
			if read > 0 && int64(read) == length && c.p.takeLoseAnswer(seen) {
				atomic.StoreInt32(&c.losingAnswer, 1)
			}
			if read > 0 && !c.forward(c.upstream, buf[:read], &c.p.stats.BytesUp) {
				return
			}
			if err != nil {
				return
			}
			length -= int64(read)
		}
	}
}

// readerConn reads through a bufio.Reader that already holds some of the connection's bytes.
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (rc readerConn) Read(b []byte) (int, error) { return rc.r.Read(b) }

// readHead reads a request line and headers, up to and including the blank line.
func readHead(r *bufio.Reader) ([]byte, error) {
	var head bytes.Buffer
	for {
		line, err := r.ReadSlice('\n')
		head.Write(line)
		if err != nil {
			return nil, err
		}
		if head.Len() > 1<<20 {
			return nil, fmt.Errorf("request head over 1 MiB")
		}
		if len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			if head.Len() <= 2 {
				// A stray blank line between requests.
				head.Reset()
				continue
			}
			return head.Bytes(), nil
		}
	}
}

// bodyFraming reads Content-Length and Transfer-Encoding from a request head.
func bodyFraming(head []byte) (length int64, chunked bool) {
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			length, _ = strconv.ParseInt(value, 10, 64)
		case "transfer-encoding":
			chunked = strings.Contains(strings.ToLower(value), "chunked")
		}
	}
	return length, chunked
}
