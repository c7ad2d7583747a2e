package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// simAnswer is a RetrievePropertiesExResponse shaped like the simulator's (ServeSDK): namespaces
// declared on the Envelope, default urn:vim25 on the response element, xsi:type on every val.
func simAnswer(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<objects><obj type="VirtualMachine">vm-%d</obj><propSet><name>name</name><val xsi:type="xsd:string">VM &lt;%d&gt;</val></propSet>`+
			`<propSet><name>network</name><val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Network">net-1</ManagedObjectReference></val></propSet></objects>`, i, i)
	}
	b.WriteString(`</returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>`)
	return []byte(b.String())
}

// prefixedAnswer uses a vim: prefix instead of a default namespace, declared on the response
// element itself, and whitespace between elements: slicing must keep all of that valid.
func prefixedAnswer(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>` + "\n" +
		`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">` + "\n" +
		` <S:Body>` + "\n" +
		`  <vim:RetrievePropertiesExResponse xmlns:vim="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` + "\n" +
		`   <vim:returnval>` + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    <vim:objects><vim:obj type=\"VirtualMachine\">vm-%d</vim:obj><vim:propSet><vim:name>name</vim:name>"+
			"<vim:val xsi:type=\"xsd:string\">VM%d</vim:val></vim:propSet></vim:objects>\n", i, i)
	}
	b.WriteString("   </vim:returnval>\n  </vim:RetrievePropertiesExResponse>\n </S:Body>\n</S:Envelope>\n")
	return []byte(b.String())
}

type parsedResult struct {
	response string // local name of the Body's child
	token    string
	objs     []string
	names    []string
}

// checkResult parses a page strictly: well-formed, every element/attribute prefix and every
// xsi:type value prefix declared in scope, token (if any) before the objects.
func checkResult(t *testing.T, page []byte) parsedResult {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, page)
		}
	}
	d = xml.NewDecoder(bytes.NewReader(page))
	var scopes []map[string]bool
	declared := func(p string) bool {
		if p == "" || p == "xml" || p == "xmlns" {
			return true
		}
		for i := len(scopes) - 1; i >= 0; i-- {
			if scopes[i][p] {
				return true
			}
		}
		return false
	}
	var res parsedResult
	var path []string
	var text strings.Builder
	seenObjects := false
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			scope := map[string]bool{}
			for _, a := range x.Attr {
				if a.Name.Space == "xmlns" {
					scope[a.Name.Local] = true
				}
			}
			scopes = append(scopes, scope)
			if !declared(x.Name.Space) {
				t.Fatalf("element %s:%s uses an undeclared prefix\n%s", x.Name.Space, x.Name.Local, page)
			}
			for _, a := range x.Attr {
				if !declared(a.Name.Space) {
					t.Fatalf("attribute %s:%s uses an undeclared prefix", a.Name.Space, a.Name.Local)
				}
				if a.Name.Space == "xsi" && a.Name.Local == "type" {
					if i := strings.IndexByte(a.Value, ':'); i >= 0 && !declared(a.Value[:i]) {
						t.Fatalf("xsi:type=%q uses an undeclared prefix", a.Value)
					}
				}
			}
			path = append(path, x.Name.Local)
			text.Reset()
			switch {
			case len(path) == 3:
				res.response = x.Name.Local
			case len(path) == 5 && x.Name.Local == "token" && seenObjects:
				t.Fatalf("token after objects\n%s", page)
			case len(path) == 5 && x.Name.Local == "objects":
				seenObjects = true
			}
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			switch {
			case len(path) == 5 && x.Name.Local == "token":
				res.token = text.String()
			case len(path) == 6 && x.Name.Local == "obj":
				res.objs = append(res.objs, text.String())
			case len(path) == 7 && x.Name.Local == "val" && path[5] == "propSet" && text.Len() > 0:
				res.names = append(res.names, text.String())
			}
			text.Reset()
			path, scopes = path[:len(path)-1], scopes[:len(scopes)-1]
		}
	}
	return res
}

func TestSliceRetrieveResult(t *testing.T) {
	for _, c := range []struct {
		name string
		body []byte
		ns   string
	}{{"simulator", simAnswer(5), ""}, {"prefixed", prefixedAnswer(5), "vim:"}} {
		t.Run(c.name, func(t *testing.T) {
			lay, err := parseRetrieveResult(c.body, "RetrievePropertiesExResponse")
			if err != nil {
				t.Fatal(err)
			}
			if len(lay.objects) != 5 || lay.hasToken || lay.returnvalNS != c.ns {
				t.Fatalf("layout %+v", lay)
			}
			first := checkResult(t, lay.firstPage(c.body, 2, "7"))
			if first.response != "RetrievePropertiesExResponse" || first.token != "7" || fmt.Sprint(first.objs) != "[vm-0 vm-1]" {
				t.Fatalf("first page %+v", first)
			}
			rest := lay.remainder(c.body, 2)
			if len(rest.objects) != 3 {
				t.Fatalf("%d objects left", len(rest.objects))
			}
			mid := checkResult(t, rest.page(rest.objects[:2], "8"))
			if mid.response != "ContinueRetrievePropertiesExResponse" || mid.token != "8" || fmt.Sprint(mid.objs) != "[vm-2 vm-3]" {
				t.Fatalf("middle page %+v", mid)
			}
			last := checkResult(t, rest.page(rest.objects[2:], ""))
			if last.response != "ContinueRetrievePropertiesExResponse" || last.token != "" || fmt.Sprint(last.objs) != "[vm-4]" {
				t.Fatalf("last page %+v", last)
			}
			// The raw bytes of each <objects> element come through untouched (entities included).
			if c.name == "simulator" {
				if !bytes.Contains(rest.page(rest.objects[2:], ""), []byte(`<val xsi:type="xsd:string">VM &lt;4&gt;</val>`)) ||
					fmt.Sprint(mid.names) != "[VM <2> VM <3>]" {
					t.Fatalf("object bytes changed: %v", mid.names)
				}
			}
		})
	}
}

func TestParseRetrieveResultLeavesOtherAnswersAlone(t *testing.T) {
	withToken := bytes.Replace(simAnswer(3), []byte("<returnval>"), []byte("<returnval><token>x</token>"), 1)
	if lay, err := parseRetrieveResult(withToken, "RetrievePropertiesExResponse"); err != nil || !lay.hasToken {
		t.Fatalf("answer with a token: %+v %v", lay, err)
	}
	empty := bytes.Replace(simAnswer(0), []byte("<returnval></returnval>"), []byte("<returnval/>"), 1)
	if _, err := parseRetrieveResult(empty, "RetrievePropertiesExResponse"); err == nil {
		t.Fatal("<returnval/> parsed")
	}
	if lay, err := parseRetrieveResult(simAnswer(0), "RetrievePropertiesExResponse"); err != nil || len(lay.objects) != 0 {
		t.Fatalf("no objects: %+v %v", lay, err)
	}
	fault := []byte(`<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<soapenv:Fault><faultcode>ServerFaultCode</faultcode></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	if _, err := parseRetrieveResult(fault, "RetrievePropertiesExResponse"); err == nil {
		t.Fatal("fault parsed as a result")
	}
	if _, err := parseRetrieveResult([]byte("<a><b>"), "RetrievePropertiesExResponse"); err == nil {
		t.Fatal("broken XML parsed")
	}
}

func retrieveRequest(options string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type>` +
		`<pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj></objectSet></specSet>` + options +
		`</RetrievePropertiesEx></soapenv:Body></soapenv:Envelope>`)
}

func TestRequestedMaxObjects(t *testing.T) {
	for _, c := range []struct {
		options string
		n       int
		set     bool
	}{
		{"", 0, false},
		{"<options></options>", 0, false},
		{"<options><maxObjects>2</maxObjects></options>", 2, true},
		{"<options><maxObjects> 1000 </maxObjects></options>", 1000, true},
		{"<options><maxObjects>0</maxObjects></options>", 0, true},
		{"<options><maxObjects>-1</maxObjects></options>", -1, true},
	} {
		if n, set := requestedMaxObjects(retrieveRequest(c.options)); n != c.n || set != c.set {
			t.Errorf("%q: %d %v, want %d %v", c.options, n, set, c.n, c.set)
		}
	}
	for _, c := range []struct{ max, set, server, want int }{
		{0, 0, 0, 0}, {2, 1, 0, 2}, {0, 0, 4, 4}, {2, 1, 4, 2}, {10, 1, 4, 4},
	} {
		if got := pageSize(c.max, c.set == 1, c.server); got != c.want {
			t.Errorf("pageSize(%d, %v, %d) = %d, want %d", c.max, c.set == 1, c.server, got, c.want)
		}
	}
}

// fakeSimulator answers the CurrentTime probe (200 for sessions s1/s2) and RetrievePropertiesEx
// with n objects.
type fakeSimulator struct {
	n     int
	calls int
}

func (f *fakeSimulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.calls++
	s := sessionKey(r)
	switch {
	case bytes.Contains(body, []byte("CurrentTime")) && (s == "s1" || s == "s2"):
		w.WriteHeader(http.StatusOK)
	case bytes.Contains(body, []byte("CurrentTime")):
		w.WriteHeader(http.StatusInternalServerError)
	case bytes.Contains(body, []byte("<RetrievePropertiesEx")):
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(simAnswer(f.n))
	default:
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("MethodNotFound"))
	}
}

func call(t *testing.T, h http.Handler, session string, body []byte) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/sdk", bytes.NewReader(body))
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "vmware_soap_session", Value: session})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func tokenRequest(method, token string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<` + method + ` xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><token>` + token + `</token></` + method + `>` +
		`</soapenv:Body></soapenv:Envelope>`)
}

func TestPagingTokens(t *testing.T) {
	sim := &fakeSimulator{n: 5}
	h := newPagingHandler(sim, pagingOptions{MaxPending: 2, TTL: time.Minute})
	now := time.Unix(1000, 0)
	h.now = func() time.Time { return now }
	max2 := retrieveRequest("<options><maxObjects>2</maxObjects></options>")

	// Paged: 2 + 2 + 1, each token good once.
	code, body := call(t, h, "s1", max2)
	p := checkResult(t, body)
	if code != 200 || p.token == "" || len(p.objs) != 2 {
		t.Fatalf("first page %d %+v", code, p)
	}
	if code, _ := call(t, h, "s2", tokenRequest("ContinueRetrievePropertiesEx", p.token)); code != 500 {
		t.Fatal("another session continued s1's token")
	}
	code, body = call(t, h, "s1", tokenRequest("ContinueRetrievePropertiesEx", p.token))
	p2 := checkResult(t, body)
	if code != 200 || p2.token == "" || p2.token == p.token || fmt.Sprint(p2.objs) != "[vm-2 vm-3]" {
		t.Fatalf("second page %d %+v", code, p2)
	}
	if code, body := call(t, h, "s1", tokenRequest("ContinueRetrievePropertiesEx", p.token)); code != 500 || !bytes.Contains(body, []byte("<invalidProperty>token</invalidProperty>")) {
		t.Fatalf("used token: %d %s", code, body)
	}
	code, body = call(t, h, "s1", tokenRequest("ContinueRetrievePropertiesEx", p2.token))
	if p3 := checkResult(t, body); code != 200 || p3.token != "" || fmt.Sprint(p3.objs) != "[vm-4]" {
		t.Fatalf("last page %d %+v", code, p3)
	}
	if len(h.pending) != 0 {
		t.Fatalf("%d results still pending", len(h.pending))
	}

	// Fits in one page / no maxObjects / no session: the simulator's answer as is.
	sim.n = 2
	if _, body := call(t, h, "s1", max2); !bytes.Equal(body, simAnswer(2)) {
		t.Fatal("a result that fits was changed")
	}
	sim.n = 5
	for _, c := range []struct{ session, options string }{{"s1", ""}, {"", "<options><maxObjects>2</maxObjects></options>"}} {
		if _, body := call(t, h, c.session, retrieveRequest(c.options)); !bytes.Equal(body, simAnswer(5)) {
			t.Fatalf("session %q options %q: answer was changed", c.session, c.options)
		}
	}
	if code, body := call(t, h, "s1", retrieveRequest("<options><maxObjects>0</maxObjects></options>")); code != 500 || !bytes.Contains(body, []byte("maxObjects")) {
		t.Fatalf("maxObjects 0: %d %s", code, body)
	}

	// Cancel drops; unknown tokens fault; no session → NotAuthenticated.
	_, body = call(t, h, "s1", max2)
	tok := checkResult(t, body).token
	if code, body := call(t, h, "s1", tokenRequest("CancelRetrievePropertiesEx", tok)); code != 200 || !bytes.Contains(body, []byte("CancelRetrievePropertiesExResponse")) {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if code, _ := call(t, h, "s1", tokenRequest("ContinueRetrievePropertiesEx", tok)); code != 500 {
		t.Fatal("continued a cancelled token")
	}
	if code, _ := call(t, h, "s1", tokenRequest("CancelRetrievePropertiesEx", "nope")); code != 500 {
		t.Fatal("cancelled an unknown token")
	}
	if code, body := call(t, h, "", tokenRequest("ContinueRetrievePropertiesEx", "1")); code != 500 || !bytes.Contains(body, []byte("NotAuthenticated")) {
		t.Fatalf("no session: %d %s", code, body)
	}

	// Bounded: a third pending result drops the oldest; an unused token expires after TTL.
	var toks []string
	for i := 0; i < 3; i++ {
		_, body := call(t, h, "s1", max2)
		toks = append(toks, checkResult(t, body).token)
	}
	if len(h.pending) != 2 {
		t.Fatalf("%d pending, want 2", len(h.pending))
	}
	if code, _ := call(t, h, "s1", tokenRequest("ContinueRetrievePropertiesEx", toks[0])); code != 500 {
		t.Fatal("the oldest result was not dropped")
	}
	now = now.Add(2 * time.Minute)
	if code, _ := call(t, h, "s1", tokenRequest("ContinueRetrievePropertiesEx", toks[2])); code != 500 {
		t.Fatal("an expired token still worked")
	}

	// Other methods pass through untouched.
	if code, body := call(t, h, "s1", tokenRequest("RetrieveProperties", "x")); code != 500 || string(body) != "MethodNotFound" {
		t.Fatalf("other method: %d %s", code, body)
	}
}
