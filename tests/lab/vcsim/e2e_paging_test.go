package main

// End-to-end check of RetrievePropertiesEx paging (paging.go) through govmomi's vim25 client
// against the drvcsim binary: every page must decode as a real RetrieveResult.

import (
	"context"
	"fmt"
	"io/ioutil"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// countingRT counts SOAP round trips.
type countingRT struct {
	next soap.RoundTripper
	n    int32
}

func (c *countingRT) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	atomic.AddInt32(&c.n, 1)
	return c.next.RoundTrip(ctx, req, res)
}

type pager struct {
	t    *testing.T
	ctx  context.Context
	c    *govmomi.Client
	rt   *countingRT
	spec types.PropertyFilterSpec
}

// newPager logs in and builds a filter over every VM through a ContainerView, asking for
// properties whose values carry xsi:type (so later pages must keep the xsi/xsd namespaces).
func newPager(t *testing.T, inst *instance) *pager {
	ctx := context.Background()
	c, err := inst.login(ctx, "user", "pass")
	if err != nil {
		t.Fatal(err)
	}
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	return &pager{t: t, ctx: ctx, c: c, rt: &countingRT{next: c.Client},
		spec: types.PropertyFilterSpec{
			PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"name", "runtime.host", "config.hardware.device"}}},
			ObjectSet: []types.ObjectSpec{{Obj: v.Reference(), Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{
				&types.TraversalSpec{Type: "ContainerView", Path: "view"},
			}}},
		}}
}

func (p *pager) retrieve(maxObjects int32) (*types.RetrieveResult, error) {
	res, err := methods.RetrievePropertiesEx(p.ctx, p.rt, &types.RetrievePropertiesEx{
		This: p.c.ServiceContent.PropertyCollector, SpecSet: []types.PropertyFilterSpec{p.spec},
		Options: types.RetrieveOptions{MaxObjects: maxObjects},
	})
	if err != nil {
		return nil, err
	}
	return res.Returnval, nil
}

func (p *pager) next(token string) (*types.RetrieveResult, error) {
	res, err := methods.ContinueRetrievePropertiesEx(p.ctx, p.rt, &types.ContinueRetrievePropertiesEx{
		This: p.c.ServiceContent.PropertyCollector, Token: token,
	})
	if err != nil {
		return nil, err
	}
	return &res.Returnval, nil
}

func (p *pager) cancel(token string) error {
	_, err := methods.CancelRetrievePropertiesEx(p.ctx, p.rt, &types.CancelRetrievePropertiesEx{
		This: p.c.ServiceContent.PropertyCollector, Token: token,
	})
	return err
}

// all loops as a vSphere client does; it returns the VM names in order, page sizes and round trips.
func (p *pager) all(maxObjects int32) ([]string, []int, int) {
	p.t.Helper()
	before := atomic.LoadInt32(&p.rt.n)
	var names []string
	var pages []int
	res, err := p.retrieve(maxObjects)
	for {
		if err != nil {
			p.t.Fatal(err)
		}
		pages = append(pages, len(res.Objects))
		for _, o := range res.Objects {
			var name string
			var host, devices bool
			for _, ps := range o.PropSet {
				switch ps.Name {
				case "name":
					name = ps.Val.(string)
				case "runtime.host":
					_, host = ps.Val.(types.ManagedObjectReference)
				case "config.hardware.device":
					devices = len(ps.Val.(types.ArrayOfVirtualDevice).VirtualDevice) > 0
				}
			}
			if name == "" || !host || !devices {
				p.t.Fatalf("%s: properties lost on a page: %+v", o.Obj, o.PropSet)
			}
			names = append(names, name)
		}
		if res.Token == "" {
			break
		}
		res, err = p.next(res.Token)
	}
	return names, pages, int(atomic.LoadInt32(&p.rt.n) - before)
}

func sorted(s []string) string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return strings.Join(c, ",")
}

const sixVMs = "DC0_C0_RP0_VM0,DC0_C0_RP0_VM1,DC0_C0_RP0_VM2,DC0_H0_VM0,DC0_H0_VM1,DC0_H0_VM2"

func TestEndToEndPaging(t *testing.T) {
	inst := start(t, "-vm", "3")
	p := newPager(t, inst)

	// No maxObjects: one page, as before.
	names, pages, trips := p.all(0)
	if sorted(names) != sixVMs || len(pages) != 1 || trips != 1 {
		t.Fatalf("unpaged: %v pages %v in %d round trips", names, pages, trips)
	}

	// maxObjects 2 over 6 VMs: 2+2+2 in 3 round trips, each VM once.
	names, pages, trips = p.all(2)
	t.Logf("maxObjects 2: pages %v, %d round trips, %v", pages, trips, names)
	if sorted(names) != sixVMs || len(names) != 6 || trips != 3 || len(pages) != 3 || pages[0] != 2 || pages[1] != 2 || pages[2] != 2 {
		t.Fatalf("maxObjects 2: %v pages %v in %d round trips", names, pages, trips)
	}
	if names, pages, trips = p.all(4); sorted(names) != sixVMs || trips != 2 || pages[0] != 4 || pages[1] != 2 {
		t.Fatalf("maxObjects 4: %v pages %v in %d round trips", names, pages, trips)
	}
	if _, pages, trips = p.all(6); trips != 1 || pages[0] != 6 {
		t.Fatalf("maxObjects 6: pages %v in %d round trips", pages, trips)
	}

	// A token is good once; unknown tokens fault InvalidArgument(token).
	first, err := p.retrieve(2)
	if err != nil || first.Token == "" {
		t.Fatalf("no token: %+v %v", first, err)
	}
	if _, err = p.next(first.Token); err != nil {
		t.Fatal(err)
	}
	_, err = p.next(first.Token)
	wantInvalidArgument(t, err, "token")
	_, err = p.next("no-such-token")
	wantInvalidArgument(t, err, "token")

	// Cancel drops the rest.
	first, _ = p.retrieve(2)
	if err = p.cancel(first.Token); err != nil {
		t.Fatal(err)
	}
	_, err = p.next(first.Token)
	wantInvalidArgument(t, err, "token")
	wantInvalidArgument(t, p.cancel(first.Token), "token")

	// Another session cannot continue this session's result; its owner still can.
	first, _ = p.retrieve(2)
	other := newPager(t, inst)
	_, err = other.next(first.Token)
	wantInvalidArgument(t, err, "token")
	if res, err := p.next(first.Token); err != nil || len(res.Objects) != 2 {
		t.Fatalf("owner after a foreign attempt: %v", err)
	}

	// maxObjects 0 is illegal, as in vSphere (govmomi omits a zero, so raw XML).
	raw := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">` + p.c.ServiceContent.PropertyCollector.Value + `</_this>` +
		`<specSet><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">` + p.c.ServiceContent.RootFolder.Value +
		`</obj></objectSet></specSet><options><maxObjects>%s</maxObjects></options></RetrievePropertiesEx></soapenv:Body></soapenv:Envelope>`
	post := func(client *http.Client, body string) (int, string) {
		req, _ := http.NewRequest("POST", inst.url.String(), strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ioutil.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	if code, body := post(&p.c.Client.Client.Client, strings.Replace(raw, "%s", "0", 1)); code != 500 || !strings.Contains(body, "<invalidProperty>maxObjects</invalidProperty>") {
		t.Fatalf("maxObjects 0: %d %s", code, body)
	}
	cont0 := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<ContinueRetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><token>%s</token></ContinueRetrievePropertiesEx>` +
		`</soapenv:Body></soapenv:Envelope>`
	// The raw XML: token first in returnval, objects copied as the simulator wrote them.
	viewRaw := strings.Replace(strings.Replace(raw, "%s", "1", 1),
		`<propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">`+p.c.ServiceContent.RootFolder.Value+`</obj></objectSet>`,
		`<propSet><type>VirtualMachine</type><pathSet>runtime.host</pathSet></propSet><objectSet><obj type="ContainerView">`+p.spec.ObjectSet[0].Obj.Value+
			`</obj><skip>true</skip><selectSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="TraversalSpec"><type>ContainerView</type><path>view</path></selectSet></objectSet>`, 1)
	code, body := post(&p.c.Client.Client.Client, viewRaw)
	if code != 200 || !strings.Contains(body, `<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><token>`) ||
		!strings.Contains(body, `</token><objects><obj type="VirtualMachine">`) || strings.Count(body, "<objects>") != 1 ||
		!regexp.MustCompile(`<val [^>]*type="ManagedObjectReference" type="HostSystem">host-`).MatchString(body) {
		t.Fatalf("raw first page %d:\n%s", code, body)
	}
	tok := body[strings.Index(body, "<token>")+7 : strings.Index(body, "</token>")]
	code, body = post(&p.c.Client.Client.Client, strings.Replace(strings.Replace(cont0, "%s", tok, 1), "propertyCollector", p.c.ServiceContent.PropertyCollector.Value, 1))
	if code != 200 || !strings.Contains(body, `<ContinueRetrievePropertiesExResponse xmlns="urn:vim25"><returnval><token>`) ||
		!strings.HasSuffix(strings.TrimSpace(body), `</objects></returnval></ContinueRetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>`) {
		t.Fatalf("raw next page %d:\n%s", code, body)
	}
	t.Logf("raw ContinueRetrievePropertiesEx page:\n%s", body)

	// Continue without a session: NotAuthenticated.
	noCookie := &http.Client{Transport: p.c.Client.Client.Client.Transport}
	cont := strings.Replace(cont0, "%s", "1", 1)
	if code, body := post(noCookie, cont); code != 500 || !strings.Contains(body, "NotAuthenticated") {
		t.Fatalf("continue without a session: %d %s", code, body)
	}

	_ = p.c.Logout(p.ctx)
	inst.stop()
}

// -page-size caps pages even when the client asks for more or sets no maxObjects; works with -cbt=false.
func TestEndToEndForcedPageSize(t *testing.T) {
	inst := start(t, "-vm", "3", "-cbt=false", "-page-size", "4", "-tls=false")
	p := newPager(t, inst)
	for _, c := range []struct {
		max   int32
		pages string
	}{{0, "[4 2]"}, {1000, "[4 2]"}, {2, "[2 2 2]"}, {5, "[4 2]"}} {
		names, pages, trips := p.all(c.max)
		if sorted(names) != sixVMs || trips != len(pages) || fmt.Sprint(pages) != c.pages {
			t.Fatalf("maxObjects %d: %v pages %v in %d round trips, want pages %s", c.max, names, pages, trips, c.pages)
		}
	}
	inst.stop()
}
