package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// body is what the upstream serves: 1 MiB of a pattern, so a cut shows as a short body.
var body = bytes.Repeat([]byte("0123456789abcdef"), 1<<16)

func upstreamHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			n, _ := io.Copy(io.Discard, r.Body)
			w.Header().Set("X-Received", itoa(n))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(body)
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// start runs a proxy in front of upstream; the returned client talks to it (TLS without checks for https).
func start(t *testing.T, upstream *httptest.Server, mode Mode, f Faults) (*Proxy, string, *http.Client) {
	t.Helper()
	p := NewProxy(upstream.Listener.Addr().String(), mode, 1)
	if f.MaxBytes == 0 {
		f.MaxBytes = 256 << 10
	}
	if err := p.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if mode == ModeHTTPS || (mode == ModeTCP && upstream.TLS != nil) {
		scheme = "https"
	}
	if mode == ModeHTTPS {
		cert, _, err := selfSignedCertificate()
		if err != nil {
			t.Fatal(err)
		}
		p.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() { _ = p.Serve(l) }()
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return p, scheme + "://" + l.Addr().String() + "/disk", client
}

func get(client *http.Client, url string) (int, []byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestNoFaultsForwardsEveryByte(t *testing.T) {
	up := httptest.NewServer(upstreamHandler())
	defer up.Close()
	for _, mode := range []Mode{ModeTCP, ModeHTTP} {
		p, url, client := start(t, up, mode, Faults{})
		for i := 0; i < 3; i++ {
			status, b, err := get(client, url)
			if err != nil || status != 200 || !bytes.Equal(b, body) {
				t.Fatalf("%s: status %d, %d bytes, err %v", mode, status, len(b), err)
			}
		}
		if s := p.Stats(); s.Cuts != 0 || s.Stalls != 0 || s.BytesDown < int64(3*len(body)) {
			t.Fatalf("%s: stats %+v", mode, s)
		}
	}
}

func TestCutConnectionsEndEarly(t *testing.T) {
	up := httptest.NewServer(upstreamHandler())
	defer up.Close()
	p, url, client := start(t, up, ModeTCP, Faults{Cut: 1})
	status, b, err := get(client, url)
	if err == nil && status == 200 && len(b) == len(body) {
		t.Fatal("every connection is to be cut, yet the whole body arrived")
	}
	if p.Stats().Cuts != 1 {
		t.Fatalf("cuts %d, want 1", p.Stats().Cuts)
	}
}

func TestCutAtTotalBytesCutsOnceInTheMiddle(t *testing.T) {
	up := httptest.NewServer(upstreamHandler())
	defer up.Close()
	p, url, client := start(t, up, ModeHTTP, Faults{CutAtTotalBytes: 3 * int64(len(body)) / 2})
	if status, b, err := get(client, url); err != nil || status != 200 || len(b) != len(body) {
		t.Fatalf("first transfer (before the cut point): status %d, %d bytes, %v", status, len(b), err)
	}
	_, b, err := get(client, url)
	if err == nil || len(b) >= len(body) {
		t.Fatalf("second transfer crosses the cut point: got %d bytes, err %v", len(b), err)
	}
	if status, b, err := get(client, url); err != nil || status != 200 || len(b) != len(body) {
		t.Fatalf("after the one cut: status %d, %d bytes, %v", status, len(b), err)
	}
	if p.Stats().Cuts != 1 {
		t.Fatalf("cuts %d, want 1", p.Stats().Cuts)
	}
}

func TestStalledConnectionPausesThenCompletes(t *testing.T) {
	up := httptest.NewServer(upstreamHandler())
	defer up.Close()
	p, url, client := start(t, up, ModeTCP, Faults{Stall: 1, StallForMs: 400})
	began := time.Now()
	status, b, err := get(client, url)
	if err != nil || status != 200 || !bytes.Equal(b, body) {
		t.Fatalf("status %d, %d bytes, err %v", status, len(b), err)
	}
	if took := time.Since(began); took < 400*time.Millisecond {
		t.Fatalf("took %s, a stall of 400ms was due", took)
	}
	if p.Stats().Stalls != 1 {
		t.Fatalf("stalls %d, want 1", p.Stats().Stalls)
	}
}

func Test503AnswersCarryRetryAfterAndForwardNothing(t *testing.T) {
	var hits int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { atomic.AddInt64(&hits, 1) }))
	defer up.Close()
	p, url, client := start(t, up, ModeHTTP, Faults{HTTP503: 1, RetryAfterSeconds: 2})
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if atomic.LoadInt64(&hits) != 0 || p.Stats().Answered503 != 1 {
		t.Fatalf("upstream hits %d, 503s %d", hits, p.Stats().Answered503)
	}
}

func TestLoseAnswerToReachesTheUpstreamButNotTheClientOnce(t *testing.T) {
	var hits int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		atomic.AddInt64(&hits, 1)
		_, _ = w.Write([]byte("done"))
	})
	for _, mode := range []Mode{ModeHTTP, ModeHTTPS} {
		atomic.StoreInt64(&hits, 0)
		up := httptest.NewServer(handler)
		if mode == ModeHTTPS {
			up.Close()
			up = httptest.NewTLSServer(handler)
		}
		defer up.Close()
		p, url, client := start(t, up, mode, Faults{LoseAnswerTo: "PowerOnVM_Task"})
		post := func(b string) error {
			resp, err := client.Post(url, "text/xml", bytes.NewBufferString(b))
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			return err
		}
		if err := post("<ListVms/>"); err != nil {
			t.Fatalf("%s: another request: %v", mode, err)
		}
		if err := post("<PowerOnVM_Task/>"); err == nil {
			t.Fatalf("%s: the answer to the matching request arrived", mode)
		}
		if err := post("<PowerOnVM_Task/>"); err != nil {
			t.Fatalf("%s: the fault is used once, the repeat failed: %v", mode, err)
		}
		if atomic.LoadInt64(&hits) != 3 || p.Stats().AnswersLost != 1 {
			t.Fatalf("%s: upstream hits %d (want 3: the lost answer's request arrived), answers lost %d", mode, hits, p.Stats().AnswersLost)
		}
	}
	if err := NewProxy("127.0.0.1:1", ModeTCP, 1).SetFaults(Faults{MaxBytes: 1, LoseAnswerTo: "x"}); err == nil {
		t.Fatal("loseAnswerTo in tcp mode was accepted")
	}
}

func TestRequestBodiesPassWithLengthAndChunked(t *testing.T) {
	up := httptest.NewServer(upstreamHandler())
	defer up.Close()
	_, url, client := start(t, up, ModeHTTP, Faults{})
	payload := bytes.Repeat([]byte{7}, 300<<10)
	for _, chunked := range []bool{false, true} {
		var reader io.Reader = bytes.NewReader(payload)
		if chunked {
			reader = io.MultiReader(reader) // unknown length: the client sends it chunked
		}
		req, _ := http.NewRequest(http.MethodPut, url, reader)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("chunked=%v: %v", chunked, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || resp.Header.Get("X-Received") != itoa(int64(len(payload))) {
			t.Fatalf("chunked=%v: status %d, received %s", chunked, resp.StatusCode, resp.Header.Get("X-Received"))
		}
		// The connection stays usable after the body.
		if status, b, err := get(client, url); err != nil || status != 200 || len(b) != len(body) {
			t.Fatalf("chunked=%v, then GET: status %d, %d bytes, %v", chunked, status, len(b), err)
		}
	}
}

func TestHTTPSModeTerminatesTLSAndReachesTLSUpstream(t *testing.T) {
	up := httptest.NewTLSServer(upstreamHandler())
	defer up.Close()
	_, url, client := start(t, up, ModeHTTPS, Faults{})
	status, b, err := get(client, url)
	if err != nil || status != 200 || !bytes.Equal(b, body) {
		t.Fatalf("status %d, %d bytes, err %v", status, len(b), err)
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	p := NewProxy("127.0.0.1:1", ModeTCP, 1)
	for _, f := range []Faults{{Cut: 1.5, MaxBytes: 1}, {Stall: -0.1, MaxBytes: 1}, {MaxBytes: 0}, {HTTP503: 0.1, MaxBytes: 1}} {
		if err := p.SetFaults(f); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
	for _, addr := range []string{"10.0.0.1:443", "example.com:443", "nohost"} {
		if loopbackOnly(addr) == nil {
			t.Errorf("upstream %s accepted", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:443", "[::1]:80", "localhost:8080"} {
		if err := loopbackOnly(addr); err != nil {
			t.Errorf("upstream %s refused: %s", addr, err)
		}
	}
}
