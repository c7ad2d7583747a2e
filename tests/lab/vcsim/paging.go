package main

// Result paging for RetrievePropertiesEx, as vCenter does it. govmomi 0.24's simulator ignores
// options.maxObjects, never returns a token and has no ContinueRetrievePropertiesEx /
// CancelRetrievePropertiesEx. An http.Handler in front of /sdk (independent of cbt.go, -paging):
//   - RetrievePropertiesEx: pass it on; when the answer has more <objects> than the page size
//     (the request's maxObjects, capped by -page-size), answer the first page with a <token>
//     and keep the other <objects> elements (their raw bytes) under that token.
//   - ContinueRetrievePropertiesEx(token): the next page, with a new token while more remain.
//     A token is good for one call; unknown, used, cancelled, expired or another session's
//     token → InvalidArgument(token).
//   - CancelRetrievePropertiesEx(token): drops the rest; unknown token → InvalidArgument(token).
// The answer is sliced at the <objects> element level by byte offsets (encoding/xml Decoder +
// InputOffset), never re-marshalled, so every property type and namespace prefix the simulator
// wrote comes out exactly as written.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type pagingOptions struct {
	PageSize   int           // server-side cap on objects per page, 0 = the client's maxObjects only
	MaxPending int           // results kept at once; beyond that the oldest is dropped
	TTL        time.Duration // an unused token expires after this
}

// pendingResult is what remains of one paged result.
type pendingResult struct {
	session   string // vmware_soap_session cookie of the requester
	collector string // the PropertyCollector it was retrieved from
	pageSize  int
	head      []byte   // envelope up to and including <returnval>, response element renamed to Continue...
	tail      []byte   // from </returnval> to the end, renamed likewise
	tokenPfx  string   // namespace prefix of returnval ("" or "vim:"), for the <token> element
	objects   [][]byte // raw <objects> elements still to send
	expires   time.Time
	seq       uint64 // insertion order, for dropping the oldest
}

type pagingHandler struct {
	next http.Handler
	opt  pagingOptions
	now  func() time.Time

	mu      sync.Mutex
	seq     uint64
	pending map[string]*pendingResult // token -> rest
}

func newPagingHandler(next http.Handler, opt pagingOptions) *pagingHandler {
	if opt.MaxPending <= 0 {
		opt.MaxPending = 256
	}
	if opt.TTL <= 0 {
		opt.TTL = 10 * time.Minute
	}
	return &pagingHandler{next: next, opt: opt, now: time.Now, pending: make(map[string]*pendingResult)}
}

func (h *pagingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readSDKRequest(w, r, h.next)
	if !ok {
		return
	}
	// "RetrievePropertiesEx" is a substring of all three method names.
	if bytes.Contains(body, []byte("RetrievePropertiesEx")) {
		if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
			switch req := m.Body.(type) {
			case *types.RetrievePropertiesEx:
				h.retrieve(w, r, body, req)
				return
			case *types.ContinueRetrievePropertiesEx:
				h.continueRetrieve(w, r, req)
				return
			case *types.CancelRetrievePropertiesEx:
				h.cancel(w, r, req)
				return
			}
		}
	}
	h.next.ServeHTTP(w, r)
}

func sessionKey(r *http.Request) string {
	if c, err := r.Cookie(soap.SessionCookieName); err == nil {
		return c.Value
	}
	return ""
}

func (h *pagingHandler) retrieve(w http.ResponseWriter, r *http.Request, body []byte, req *types.RetrievePropertiesEx) {
	maxObjects, set := requestedMaxObjects(body)
	if set && maxObjects <= 0 {
		invalidArgument(w, "maxObjects") // vSphere: "a value less than or equal to 0 is illegal"
		return
	}
	size := pageSize(maxObjects, set, h.opt.PageSize)
	if size == 0 {
		h.next.ServeHTTP(w, r)
		return
	}
	rec := httptestRecorder(h.next, r)
	out := rec.Body.Bytes()
	if rec.Code != http.StatusOK {
		copyResponse(w, rec)
		return
	}
	lay, err := parseRetrieveResult(out, "RetrievePropertiesExResponse")
	// The simulator lets RetrievePropertiesEx through without a session (vSphere does not); such a
	// caller could not continue, so it gets everything at once.
	session := sessionKey(r)
	if err != nil || lay.hasToken || len(lay.objects) <= size || session == "" || !loggedIn(h.next, r) {
		if err != nil {
			log.Printf("RetrievePropertiesEx: not paging an answer we cannot parse: %s", err)
		}
		copyResponse(w, rec)
		return
	}
	rest := lay.remainder(out, size)
	rest.session, rest.collector, rest.pageSize = session, req.This.Value, size

	h.mu.Lock()
	token := h.store(rest)
	h.mu.Unlock()
	log.Printf("RetrievePropertiesEx on %s: %d objects, pages of %d, token %s", req.This.Value, len(lay.objects), size, token)

	writeXML(w, lay.firstPage(out, size, token))
}

func (h *pagingHandler) continueRetrieve(w http.ResponseWriter, r *http.Request, req *types.ContinueRetrievePropertiesEx) {
	if !loggedIn(h.next, r) {
		writeFault(w, "", &types.NotAuthenticated{NoPermission: types.NoPermission{Object: req.This, PrivilegeId: "System.View"}})
		return
	}
	h.mu.Lock()
	p := h.take(req.Token, sessionKey(r), req.This.Value)
	var page []byte
	if p != nil {
		n := p.pageSize
		if n > len(p.objects) {
			n = len(p.objects)
		}
		objs := p.objects[:n]
		p.objects = p.objects[n:]
		next := ""
		if len(p.objects) > 0 {
			next = h.store(p)
		}
		page = p.page(objs, next)
	}
	h.mu.Unlock()
	if p == nil {
		invalidArgument(w, "token")
		return
	}
	writeXML(w, page)
}

func (h *pagingHandler) cancel(w http.ResponseWriter, r *http.Request, req *types.CancelRetrievePropertiesEx) {
	if !loggedIn(h.next, r) {
		writeFault(w, "", &types.NotAuthenticated{NoPermission: types.NoPermission{Object: req.This, PrivilegeId: "System.View"}})
		return
	}
	h.mu.Lock()
	p := h.take(req.Token, sessionKey(r), req.This.Value)
	h.mu.Unlock()
	if p == nil {
		invalidArgument(w, "token")
		return
	}
	writeResponse(w, "CancelRetrievePropertiesExResponse", &types.CancelRetrievePropertiesExResponse{})
}

// store files p under a new token, dropping expired results and, beyond MaxPending, the oldest; h.mu is held.
func (h *pagingHandler) store(p *pendingResult) string {
	now := h.now()
	for t, q := range h.pending {
		if now.After(q.expires) {
			delete(h.pending, t)
		}
	}
	for len(h.pending) >= h.opt.MaxPending {
		oldest := ""
		for t, q := range h.pending {
			if oldest == "" || q.seq < h.pending[oldest].seq {
				oldest = t
			}
		}
		log.Printf("paging: more than %d results pending, dropping token %s", h.opt.MaxPending, oldest)
		delete(h.pending, oldest)
	}
	h.seq++
	p.seq = h.seq
	p.expires = now.Add(h.opt.TTL)
	token := strconv.FormatUint(h.seq, 10)
	h.pending[token] = p
	return token
}

// take removes and returns the result of token when it is the caller's and still valid; h.mu is held.
func (h *pagingHandler) take(token, session, collector string) *pendingResult {
	p := h.pending[token]
	if p == nil {
		return nil
	}
	if p.session != session || p.collector != collector {
		return nil // someone else's token: as if unknown, and it stays usable by its owner
	}
	delete(h.pending, token)
	if h.now().After(p.expires) {
		return nil
	}
	return p
}

// pageSize is the effective page: the client's maxObjects, capped by the server's -page-size.
func pageSize(maxObjects int, set bool, serverCap int) int {
	size := 0
	if set {
		size = maxObjects
	}
	if serverCap > 0 && (size == 0 || serverCap < size) {
		size = serverCap
	}
	return size
}

// requestedMaxObjects finds RetrievePropertiesEx/options/maxObjects in a request (present or
// not: 0 is an illegal value, not "unset", and types.RetrieveOptions cannot tell them apart).
func requestedMaxObjects(body []byte) (int, bool) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var path []string
	for {
		tok, err := d.Token()
		if err != nil {
			return 0, false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			n := len(path)
			if n >= 3 && path[n-1] == "maxObjects" && path[n-2] == "options" && path[n-3] == "RetrievePropertiesEx" {
				var v string
				if d.DecodeElement(&v, &t) != nil {
					return 0, true
				}
				i, err := strconv.Atoi(string(bytes.TrimSpace([]byte(v))))
				if err != nil {
					return 0, true
				}
				return i, true
			}
		case xml.EndElement:
			path = path[:len(path)-1]
		}
	}
}

// span is a byte range [start, end) of the answer.
type span struct{ start, end int }

// retrieveLayout is where things are in a SOAP envelope carrying a RetrieveResult.
type retrieveLayout struct {
	respStart   int    // '<' of the response element's start tag
	respEnd     int    // '<' of its end tag
	respName    string // its qualified name as written, e.g. "RetrievePropertiesExResponse" or "vim:..."
	valOpenEnd  int    // just after <returnval ...>
	valClose    int    // '<' of </returnval>
	returnvalNS string // prefix of returnval as written, "" or "vim:"
	objects     []span
	hasToken    bool
}

var errNoResult = errors.New("no returnval in the response")

// parseRetrieveResult locates Envelope/Body/<response>/returnval/objects in a SOAP answer.
func parseRetrieveResult(body []byte, response string) (*retrieveLayout, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	l := &retrieveLayout{respStart: -1, respEnd: -1, valOpenEnd: -1, valClose: -1}
	var path []string
	for {
		start := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			n := len(path)
			inResult := n >= 4 && path[2] == response && path[3] == "returnval"
			switch {
			case n == 3 && t.Name.Local == response:
				l.respStart, l.respName = start, rawName(body, start+1)
			case n == 4 && inResult:
				if l.valOpenEnd >= 0 {
					return nil, errors.New("more than one returnval")
				}
				l.valOpenEnd = int(d.InputOffset())
				if bytes.HasSuffix(body[start:l.valOpenEnd], []byte("/>")) {
					return nil, errors.New("empty <returnval/>")
				}
				name := rawName(body, start+1)
				if i := bytes.IndexByte([]byte(name), ':'); i >= 0 {
					l.returnvalNS = name[:i+1]
				}
			case n == 5 && inResult && (t.Name.Local == "objects" || t.Name.Local == "token"):
				if err := d.Skip(); err != nil {
					return nil, err
				}
				path = path[:n-1]
				if t.Name.Local == "token" {
					l.hasToken = true
				} else {
					l.objects = append(l.objects, span{start, int(d.InputOffset())})
				}
			}
		case xml.EndElement:
			n := len(path)
			if n == 4 && path[2] == response && path[3] == "returnval" {
				l.valClose = start
			} else if n == 3 && path[2] == response {
				l.respEnd = start
			}
			path = path[:n-1]
		}
	}
	if l.respStart < 0 || l.respEnd < 0 || l.valOpenEnd < 0 || l.valClose < 0 ||
		!bytes.HasPrefix(body[l.respEnd:], []byte("</"+l.respName)) {
		return nil, errNoResult
	}
	return l, nil
}

// rawName reads a qualified element name starting at body[i].
func rawName(body []byte, i int) string {
	j := i
	for j < len(body) && !bytes.ContainsRune([]byte(" \t\r\n/>"), rune(body[j])) {
		j++
	}
	return string(body[i:j])
}

func (l *retrieveLayout) tokenElement(token string) []byte {
	var b bytes.Buffer
	b.WriteString("<" + l.returnvalNS + "token>")
	_ = xml.EscapeText(&b, []byte(token))
	b.WriteString("</" + l.returnvalNS + "token>")
	return b.Bytes()
}

// firstPage is the answer with only the first n objects and the token (first in returnval, as
// RetrieveResult's schema orders it).
func (l *retrieveLayout) firstPage(body []byte, n int, token string) []byte {
	var b bytes.Buffer
	b.Write(body[:l.valOpenEnd])
	b.Write(l.tokenElement(token))
	b.Write(body[l.valOpenEnd:l.objects[n-1].end])
	b.Write(body[l.valClose:])
	return b.Bytes()
}

// remainder copies out objects[n:] and the envelope around them, the response element renamed
// from XxxResponse to ContinueRetrievePropertiesExResponse (same prefix).
func (l *retrieveLayout) remainder(body []byte, n int) *pendingResult {
	prefix := ""
	if i := bytes.IndexByte([]byte(l.respName), ':'); i >= 0 {
		prefix = l.respName[:i+1]
	}
	name := prefix + "ContinueRetrievePropertiesExResponse"
	p := &pendingResult{tokenPfx: l.returnvalNS}

	var head bytes.Buffer
	head.Write(body[:l.respStart+1])
	head.WriteString(name)
	head.Write(body[l.respStart+1+len(l.respName) : l.valOpenEnd])
	p.head = head.Bytes()

	var tail bytes.Buffer
	tail.Write(body[l.valClose : l.respEnd+2])
	tail.WriteString(name)
	tail.Write(body[l.respEnd+2+len(l.respName):])
	p.tail = tail.Bytes()

	for _, s := range l.objects[n:] {
		p.objects = append(p.objects, append([]byte(nil), body[s.start:s.end]...))
	}
	return p
}

// page is a ContinueRetrievePropertiesEx answer with objs and, when not empty, the next token.
func (p *pendingResult) page(objs [][]byte, token string) []byte {
	var b bytes.Buffer
	b.Write(p.head)
	if token != "" {
		b.Write((&retrieveLayout{returnvalNS: p.tokenPfx}).tokenElement(token))
	}
	for _, o := range objs {
		b.Write(o)
	}
	b.Write(p.tail)
	return b.Bytes()
}

func writeXML(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
