package main

// Lab network (-datastore-mibps N): the datastore file interface (/folder/...) serves GET bodies
// and takes PUT/POST bodies at most N MiB/s in total, one token bucket shared by every connection
// and both directions, like an ESXi host behind a 1 or 10 GbE management network (0: unlimited).
// The benchmarks use it to find the highest source rate a full sync keeps up with.

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"
)

var datastoreMiBps = flag.Float64("datastore-mibps", 0, "serve datastore file GETs and take PUTs at most this many MiB/s in total over all connections, as a host behind a slow management network (0: unlimited)")

// rateBurst is what an idle bucket lets through at once: small, so the rate holds over short windows too.
const rateBurst = 20 * time.Millisecond

// rateSlice caps the bytes taken from the bucket per wait, so concurrent transfers share it fairly.
const rateSlice = 64 * 1024

// tokenBucket paces byte counts to bytesPerSecond with a virtual clock: each take books its
// transfer time after the previous one and sleeps until then.
type tokenBucket struct {
	mu             sync.Mutex
	bytesPerSecond float64
	next           time.Time // when the bytes booked so far have been sent
}

func newTokenBucket(bytesPerSecond float64) *tokenBucket {
	return &tokenBucket{bytesPerSecond: bytesPerSecond}
}

// take waits until n more bytes fit the rate.
func (b *tokenBucket) take(n int) {
	b.mu.Lock()
	now := time.Now()
	if earliest := now.Add(-rateBurst); b.next.Before(earliest) {
		b.next = earliest // an idle bucket saves up at most rateBurst of transfer time
	}
	b.next = b.next.Add(time.Duration(float64(n) / b.bytesPerSecond * float64(time.Second)))
	wait := b.next.Sub(now)
	b.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
}

type rateLimitHandler struct {
	next   http.Handler
	bucket *tokenBucket
}

// newDatastoreRateHandler paces /folder/ transfers to mibps MiB/s; 0 returns next unchanged.
func newDatastoreRateHandler(next http.Handler, mibps float64) http.Handler {
	if mibps < 0 {
		log.Fatal("-datastore-mibps must not be negative")
	}
	if mibps == 0 {
		return next
	}
	log.Printf("datastore transfers limited to %g MiB/s in total", mibps)
	return &rateLimitHandler{next: next, bucket: newTokenBucket(mibps * (1 << 20))}
}

func (h *rateLimitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, folderPrefix) {
		h.next.ServeHTTP(w, r)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &pacedBody{r: r.Body, bucket: h.bucket}
	}
	h.next.ServeHTTP(&pacedWriter{ResponseWriter: w, bucket: h.bucket}, r)
}

// pacedWriter sends a response body in slices of at most rateSlice bytes, each after the bucket allows it.
type pacedWriter struct {
	http.ResponseWriter
	bucket *tokenBucket
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := len(b)
		if n > rateSlice {
			n = rateSlice
		}
		p.bucket.take(n)
		m, err := p.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// pacedBody reads a request body in slices of at most rateSlice bytes, each after the bucket allows it.
type pacedBody struct {
	r      io.ReadCloser
	bucket *tokenBucket
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if len(b) > rateSlice {
		b = b[:rateSlice]
	}
	n, err := p.r.Read(b)
	if n > 0 {
		p.bucket.take(n)
	}
	return n, err
}

func (p *pacedBody) Close() error { return p.r.Close() }
