// drfaultproxy: the lab's fault-injecting TCP proxy. It forwards connections on 127.0.0.1 to one upstream (a lab vcsim,
// Azurite or the lab ARM) and cuts a share of them after a random number of bytes, stalls some, and (when it sees
// HTTP) answers a share of requests 503, as a flaky WAN or an overloaded server would. A control listener changes
// the faults while it runs and reports what it did.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	upstream := flag.String("upstream", "", "host:port the connections go to (required; loopback only)")
	mode := flag.String("mode", "tcp", "tcp: bytes pass as they are (TLS end to end), cuts and stalls only; http: plain HTTP, also 503s; https: TLS terminated with the proxy's own certificate, TLS to the upstream, also 503s")
	addrFile := flag.String("addr-file", "", "write host:port of the proxy to this file once listening")
	controlFile := flag.String("control-file", "", "write the control listener's URL (GET/PUT /faults, GET /stats) to this file once listening")
	thumbprintFile := flag.String("thumbprint-file", "", "with -mode https: write the SHA-256 thumbprint of the proxy's certificate (upper-case hex) here")
	seed := flag.Int64("seed", time.Now().UnixNano(), "random seed (the same seed and traffic give the same faults)")
	cut := flag.Float64("cut", 0, "share of connections cut (reset) after a random byte count")
	stall := flag.Float64("stall", 0, "share of connections that forward nothing for -stall-for after a random byte count")
	http503 := flag.Float64("http503", 0, "share of requests answered 503 with Retry-After (modes http and https)")
	maxBytes := flag.Int64("max-bytes", 4<<20, "the random byte count of a cut or stall is at most this (both directions counted)")
	stallFor := flag.Duration("stall-for", 3*time.Second, "how long a stalled connection forwards nothing")
	retryAfter := flag.Int("retry-after", 1, "Retry-After seconds of the 503 answers")
	flag.Parse()

	if *upstream == "" {
		log.Fatal("-upstream host:port is required")
	}
	if err := loopbackOnly(*upstream); err != nil {
		log.Fatal(err)
	}
	m := Mode(*mode)
	if m != ModeTCP && m != ModeHTTP && m != ModeHTTPS {
		log.Fatalf("-mode must be tcp, http or https, not %q", *mode)
	}
	p := NewProxy(*upstream, m, *seed)
	if err := p.SetFaults(Faults{Cut: *cut, Stall: *stall, HTTP503: *http503, MaxBytes: *maxBytes,
		StallForMs: stallFor.Milliseconds(), RetryAfterSeconds: *retryAfter}); err != nil {
		log.Fatal(err)
	}
	if m == ModeHTTPS {
		cert, thumbprint, err := selfSignedCertificate()
		if err != nil {
			log.Fatalf("making the proxy's certificate: %s", err)
		}
		p.ServerTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		if *thumbprintFile != "" {
			if err := writeFileAtomic(*thumbprintFile, thumbprint+"\n"); err != nil {
				log.Fatal(err)
			}
		}
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	control, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = http.Serve(control, controlHandler(p)) }()
	go func() { _ = p.Serve(l) }()

	if *controlFile != "" {
		if err := writeFileAtomic(*controlFile, "http://"+control.Addr().String()+"\n"); err != nil {
			log.Fatal(err)
		}
	}
	if *addrFile != "" {
		// Written last: whoever waits for it finds the control URL and thumbprint already there.
		if err := writeFileAtomic(*addrFile, l.Addr().String()+"\n"); err != nil {
			log.Fatal(err)
		}
	}
	f := p.Faults()
	log.Printf("listening on %s -> %s (mode %s, cut %v, stall %v for %s, 503 %v, max bytes %d, control http://%s)",
		l.Addr(), *upstream, m, f.Cut, f.Stall, *stallFor, f.HTTP503, f.MaxBytes, control.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	st := p.Stats()
	log.Printf("%s: shutting down (connections %d, cuts %d, stalls %d, 503s %d of %d requests)", s, st.Connections, st.Cuts, st.Stalls, st.Answered503, st.Requests)
	l.Close()
	control.Close()
	for _, name := range []string{*addrFile, *controlFile, *thumbprintFile} {
		if name != "" {
			_ = os.Remove(name)
		}
	}
}

// loopbackOnly refuses an upstream that is not on this machine: the lab never sends traffic elsewhere.
func loopbackOnly(hostPort string) error {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return fmt.Errorf("-upstream %q is not host:port: %s", hostPort, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-upstream %q is not a loopback address (127.0.0.1, ::1 or localhost): the lab sends no traffic elsewhere", hostPort)
	}
	return nil
}

// controlHandler: GET /faults, PUT /faults (a JSON Faults; fields left out keep their value), GET /stats.
func controlHandler(p *Proxy) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/faults", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, p.Faults())
		case http.MethodPut, http.MethodPost:
			f := p.Faults()
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&f); err != nil {
				http.Error(w, "faults: "+err.Error()+" (fields: cut, stall, http503, maxBytes, stallForMs, retryAfterSeconds, cutAtTotalBytes)", http.StatusBadRequest)
				return
			}
			if err := p.SetFaults(f); err != nil {
				http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
				return
			}
			log.Printf("faults now %+v", f)
			writeJSON(w, p.Faults())
		default:
			http.Error(w, "GET or PUT", http.StatusMethodNotAllowed)
		}
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, p.Stats()) })
	return mux
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// selfSignedCertificate makes the proxy's TLS certificate for 127.0.0.1/localhost and its SHA-256 thumbprint.
func selfSignedCertificate() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	template := x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "drfaultproxy"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, strings.ToUpper(hex.EncodeToString(sum[:])), nil
}

// writeFileAtomic writes via rename so a waiting script never reads a half-written file.
func writeFileAtomic(name, content string) error {
	f, err := ioutil.TempFile(filepath.Dir(name), ".proxy-*")
	if err != nil {
		return err
	}
	if _, err = fmt.Fprint(f, content); err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), name)
}
