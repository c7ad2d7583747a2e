package main

// End-to-end check of the drvcsim binary through govmomi's own vim25 SOAP client (so the XML we
// answer is what a real client parses), plus raw HTTP for the XML shape and the unauthenticated
// case. DRVCSIM_BIN names the binary (build.sh's output); without it the test builds one.

import (
	"bytes"
	"context"
	"fmt"
	"io/ioutil"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const kib = 1024

type instance struct {
	t   *testing.T
	cmd *exec.Cmd
	url *url.URL
	log *bytes.Buffer
}

func binary(t *testing.T) string {
	if b := os.Getenv("DRVCSIM_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "drvcsim")
	if b, err := exec.Command("go", "build", "-o", out, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %s\n%s", err, b)
	}
	return out
}

// start runs the binary on 127.0.0.1:0 and waits for its URL file.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	cmd := exec.Command(binary(t), append([]string{"-l", "127.0.0.1:0", "-url-file", urlFile}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+dir) // datastore dirs land in the test's temp dir
	inst := &instance{t: t, cmd: cmd, log: new(bytes.Buffer)}
	cmd.Stdout, cmd.Stderr = inst.log, inst.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("drvcsim output:\n%s", inst.log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := ioutil.ReadFile(urlFile); err == nil && len(b) > 0 {
			u, err := url.Parse(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			inst.url = u
			return inst
		}
		if time.Now().After(deadline) {
			t.Fatalf("no url file after 30s; output:\n%s", inst.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects exit status 0.
func (i *instance) stop() {
	i.t.Helper()
	if err := i.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		i.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- i.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			i.t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		i.t.Fatal("no exit 15s after SIGTERM")
	}
}

func (i *instance) login(ctx context.Context, user, pass string) (*govmomi.Client, error) {
	u := *i.url
	u.User = url.UserPassword(user, pass)
	return govmomi.NewClient(ctx, &u, true)
}

// finderIn is a finder set to the default datacenter (all: search folders recursively).
func finderIn(t *testing.T, ctx context.Context, c *govmomi.Client, all bool) (*find.Finder, *object.Datacenter) {
	t.Helper()
	finder := find.NewFinder(c.Client, all)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	return finder, dc
}

func faultOf(t *testing.T, err error) types.AnyType {
	t.Helper()
	if err == nil {
		t.Fatal("expected a SOAP fault, got success")
	}
	if !soap.IsSoapFault(err) {
		t.Fatalf("expected a SOAP fault, got %T %v", err, err)
	}
	return soap.ToSoapFault(err).VimFault()
}

func wantInvalidArgument(t *testing.T, err error, prop string) {
	t.Helper()
	f, ok := faultOf(t, err).(types.InvalidArgument)
	if !ok || f.InvalidProperty != prop {
		t.Fatalf("want InvalidArgument(%s), got %#v (%v)", prop, faultOf(t, err), err)
	}
}

func wantFileFault(t *testing.T, err error) {
	t.Helper()
	if _, ok := faultOf(t, err).(types.FileFault); !ok {
		t.Fatalf("want FileFault, got %#v (%v)", faultOf(t, err), err)
	}
}

type env struct {
	t        *testing.T
	ctx      context.Context
	c        *govmomi.Client
	vm       *object.VirtualMachine
	ds       *object.Datastore
	key      int32
	capacity int64
	flat     string // datastore-relative path of the flat file
}

func (e *env) snapshot(name string) types.ManagedObjectReference {
	e.t.Helper()
	task, err := e.vm.CreateSnapshot(e.ctx, name, "", false, false)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := task.WaitForResult(e.ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.Result.(types.ManagedObjectReference)
}

func (e *env) setTracking(on bool) {
	e.t.Helper()
	task, err := e.vm.Reconfigure(e.ctx, types.VirtualMachineConfigSpec{ChangeTrackingEnabled: types.NewBool(on)})
	if err != nil {
		e.t.Fatal(err)
	}
	if err = task.Wait(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	var m mo.VirtualMachine
	if err = e.vm.Properties(e.ctx, e.vm.Reference(), []string{"config.changeTrackingEnabled"}, &m); err != nil {
		e.t.Fatal(err)
	}
	if m.Config.ChangeTrackingEnabled == nil || *m.Config.ChangeTrackingEnabled != on {
		e.t.Fatalf("config.changeTrackingEnabled = %v, want %v", m.Config.ChangeTrackingEnabled, on)
	}
}

// changeID reads the disk backing's changeId of a VM or a snapshot through the property collector.
func (e *env) changeID(obj types.ManagedObjectReference) string {
	e.t.Helper()
	var devs []types.BaseVirtualDevice
	pc := property.DefaultCollector(e.c.Client)
	if obj.Type == "VirtualMachineSnapshot" {
		var s mo.VirtualMachineSnapshot
		if err := pc.RetrieveOne(e.ctx, obj, []string{"config.hardware.device"}, &s); err != nil {
			e.t.Fatal(err)
		}
		devs = s.Config.Hardware.Device
	} else {
		var m mo.VirtualMachine
		if err := pc.RetrieveOne(e.ctx, obj, []string{"config.hardware.device"}, &m); err != nil {
			e.t.Fatal(err)
		}
		devs = m.Config.Hardware.Device
	}
	for _, d := range devs {
		if disk, ok := d.(*types.VirtualDisk); ok && disk.Key == e.key {
			return disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).ChangeId
		}
	}
	e.t.Fatalf("disk %d not found on %s", e.key, obj)
	return ""
}

func (e *env) qcda(snap *types.ManagedObjectReference, key int32, off int64, changeID string) (types.DiskChangeInfo, error) {
	res, err := methods.QueryChangedDiskAreas(e.ctx, e.c.Client, &types.QueryChangedDiskAreas{
		This: e.vm.Reference(), Snapshot: snap, DeviceKey: key, StartOffset: off, ChangeId: changeID,
	})
	if err != nil {
		return types.DiskChangeInfo{}, err
	}
	return res.Returnval, nil
}

// changed loops QueryChangedDiskAreas over the whole disk as a backup client does.
func (e *env) changed(snap types.ManagedObjectReference, changeID string) ([]types.DiskChangeExtent, int) {
	e.t.Helper()
	var all []types.DiskChangeExtent
	calls := 0
	for off := int64(0); off < e.capacity; {
		info, err := e.qcda(&snap, e.key, off, changeID)
		if err != nil {
			e.t.Fatalf("QueryChangedDiskAreas(%s, %d): %v", changeID, off, err)
		}
		calls++
		if info.StartOffset != off || info.Length <= 0 || off+info.Length > e.capacity {
			e.t.Fatalf("bad page at %d: startOffset=%d length=%d", off, info.StartOffset, info.Length)
		}
		for _, x := range info.ChangedArea {
			if x.Start < off || x.Start+x.Length > off+info.Length {
				e.t.Fatalf("extent %+v outside page [%d,+%d)", x, off, info.Length)
			}
		}
		all = append(all, info.ChangedArea...)
		off += info.Length
	}
	return all, calls
}

func extents(pairs ...int64) []types.DiskChangeExtent {
	var out []types.DiskChangeExtent
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, types.DiskChangeExtent{Start: pairs[i], Length: pairs[i+1]})
	}
	return out
}

func sameExtents(a, b []types.DiskChangeExtent) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// httpDo sends a request with the logged-in client's cookies and TLS settings.
func (e *env) httpDo(req *http.Request) *http.Response {
	e.t.Helper()
	res, err := e.c.Client.Client.Client.Do(req.WithContext(e.ctx))
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestEndToEndCBT(t *testing.T) {
	const diskMB = 4
	inst := start(t, "-username", "lab", "-password", "s3cret", "-disk-mb", fmt.Sprint(diskMB), "-cbt-max-extents", "1")
	if inst.url.Scheme != "https" || inst.url.Hostname() != "127.0.0.1" || inst.url.Path != "/sdk" {
		t.Fatalf("url file says %s", inst.url)
	}
	ctx := context.Background()

	if _, err := inst.login(ctx, "lab", "wrong"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	c, err := inst.login(ctx, "lab", "s3cret")
	if err != nil {
		t.Fatal(err)
	}

	finder, _ := finderIn(t, ctx, c, true)
	vms, err := finder.VirtualMachineList(ctx, "*")
	if err != nil || len(vms) == 0 {
		t.Fatalf("no VMs: %v", err)
	}
	e := &env{t: t, ctx: ctx, c: c, vm: vms[0]}
	devs, err := e.vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	disk := devs.SelectByType((*types.VirtualDisk)(nil))[0].(*types.VirtualDisk)
	e.key, e.capacity = disk.Key, disk.CapacityInBytes
	if e.capacity != diskMB<<20 {
		t.Fatalf("capacity %d, want %d", e.capacity, diskMB<<20)
	}
	var p object.DatastorePath
	p.FromString(disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).FileName)
	e.flat = strings.TrimSuffix(p.Path, ".vmdk") + "-flat.vmdk"
	if e.ds, err = finder.Datastore(ctx, p.Datastore); err != nil {
		t.Fatal(err)
	}
	t.Logf("VM %s disk %d %s (%d bytes), flat file %s", e.vm.Name(), e.key, p, e.capacity, e.flat)

	// Tracking off: a snapshot has no change data, the query faults like vSphere (FileFault).
	s0 := e.snapshot("before-cbt")
	_, err = e.qcda(&s0, e.key, 0, "*")
	wantFileFault(t, err)

	e.setTracking(true)
	if id := e.changeID(e.vm.Reference()); id != "" {
		t.Fatalf("changeId %q before the first snapshot", id)
	}

	// Write 1: whole-file PUT through the datastore HTTP interface (what vSphere supports).
	img := make([]byte, e.capacity)
	copy(img[0:], "boot sector")
	copy(img[640*kib+5:], "block ten")
	up := soap.DefaultUpload
	up.ContentLength = int64(len(img))
	if err = e.ds.Upload(ctx, bytes.NewReader(img), e.flat, &up); err != nil {
		t.Fatal(err)
	}
	// Range GET reads it back.
	req, _ := http.NewRequest("GET", e.ds.NewURL(e.flat).String(), nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", 640*kib+5, 640*kib+13))
	res := e.httpDo(req)
	got, _ := ioutil.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || string(got) != "block ten" {
		t.Fatalf("range GET: %d %q", res.StatusCode, got)
	}

	s1 := e.snapshot("s1")
	id1 := e.changeID(s1)
	if !regexp.MustCompile(`^52( [0-9a-f]{2}){7}-[0-9a-f]{2}( [0-9a-f]{2}){7}/[0-9]+$`).MatchString(id1) {
		t.Fatalf("changeId %q does not look like vSphere's", id1)
	}
	if cur := e.changeID(e.vm.Reference()); cur != id1 {
		t.Fatalf("VM changeId %q, snapshot's %q", cur, id1)
	}

	all1, calls := e.changed(s1, "*")
	t.Logf(`QueryChangedDiskAreas(s1, "*") = %v in %d calls`, all1, calls)
	if want := extents(0, 64*kib, 640*kib, 64*kib); !sameExtents(all1, want) {
		t.Fatalf(`"*" at s1 = %v, want %v`, all1, want)
	}
	if calls < 2 {
		t.Fatalf("-cbt-max-extents 1 should page: %d calls", calls)
	}

	// Write 2: ranged PUT (our lab extension) at 3 MiB + 100.
	req, _ = http.NewRequest("PUT", e.ds.NewURL(e.flat).String(), strings.NewReader("later write"))
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", 3<<20+100, 3<<20+100+10))
	res = e.httpDo(req)
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/*", 3<<20+100, 3<<20+100+10) {
		t.Fatalf("ranged PUT: %d, Content-Range %q (the range is echoed as confirmation)", res.StatusCode, res.Header.Get("Content-Range"))
	}

	s2 := e.snapshot("s2")
	id2 := e.changeID(s2)
	if id2 == id1 || e.changeID(s1) != id1 || e.changeID(e.vm.Reference()) != id2 {
		t.Fatalf("changeIds: s1 %q (was %q), s2 %q, vm %q", e.changeID(s1), id1, id2, e.changeID(e.vm.Reference()))
	}
	delta, _ := e.changed(s2, id1)
	t.Logf("QueryChangedDiskAreas(s2, changeId(s1)) = %v", delta)
	if want := extents(3<<20, 64*kib); !sameExtents(delta, want) {
		t.Fatalf("s1->s2 = %v, want %v", delta, want)
	}
	if all2, _ := e.changed(s2, "*"); !sameExtents(all2, extents(0, 64*kib, 640*kib, 64*kib, 3<<20, 64*kib)) {
		t.Fatalf(`"*" at s2 = %v`, all2)
	}
	// s1's own answer did not move with the disk.
	if again, _ := e.changed(s1, "*"); !sameExtents(again, all1) {
		t.Fatalf(`"*" at s1 changed to %v`, again)
	}

	// The exact XML a raw SOAP client gets.
	raw := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`+
		`<QueryChangedDiskAreas xmlns="urn:vim25"><_this type="VirtualMachine">%s</_this><snapshot type="VirtualMachineSnapshot">%s</snapshot>`+
		`<deviceKey>%d</deviceKey><startOffset>0</startOffset><changeId>%s</changeId></QueryChangedDiskAreas></soapenv:Body></soapenv:Envelope>`,
		e.vm.Reference().Value, s2.Value, e.key, id1)
	req, _ = http.NewRequest("POST", inst.url.String(), strings.NewReader(raw))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "urn:vim25/6.5")
	res = e.httpDo(req)
	xmlBody, _ := ioutil.ReadAll(res.Body)
	res.Body.Close()
	wantXML := fmt.Sprintf(`<QueryChangedDiskAreasResponse xmlns="urn:vim25"><returnval><startOffset>0</startOffset><length>%d</length>`+
		`<changedArea><start>%d</start><length>%d</length></changedArea></returnval></QueryChangedDiskAreasResponse>`, e.capacity, 3<<20, 64*kib)
	if res.StatusCode != 200 || !bytes.Contains(xmlBody, []byte(wantXML)) {
		t.Fatalf("raw response %d:\n%s\nwant it to contain:\n%s", res.StatusCode, xmlBody, wantXML)
	}

	// Faults.
	_, err = e.qcda(&s2, e.key, 0, "52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00/9")
	wantInvalidArgument(t, err, "changeId")
	_, err = e.qcda(&s2, e.key+1000, 0, "*")
	wantInvalidArgument(t, err, "deviceKey")
	_, err = e.qcda(&s2, e.key, e.capacity, "*")
	wantInvalidArgument(t, err, "startOffset")
	_, err = e.qcda(nil, e.key, 0, "*") // powered-on VM needs a snapshot
	wantInvalidArgument(t, err, "snapshot")

	noCookie := &http.Client{Transport: e.c.Client.Client.Client.Transport}
	res, err = noCookie.Post(inst.url.String(), "text/xml", strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	xmlBody, _ = ioutil.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || !bytes.Contains(xmlBody, []byte("NotAuthenticated")) {
		t.Fatalf("unauthenticated query: %d %s", res.StatusCode, xmlBody)
	}

	// Removing s1 keeps its changeId usable, as in vSphere.
	rm, err := methods.RemoveSnapshot_Task(ctx, c.Client, &types.RemoveSnapshot_Task{This: s1, RemoveChildren: false})
	if err != nil {
		t.Fatal(err)
	}
	if err = object.NewTask(c.Client, rm.Returnval).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.changed(s2, id1); !sameExtents(again, delta) {
		t.Fatalf("s1->s2 after removing s1 = %v", again)
	}

	// Tracking off: queries fault, changeIds are cleared and stay invalid after re-enabling.
	e.setTracking(false)
	_, err = e.qcda(&s2, e.key, 0, "*")
	wantFileFault(t, err)
	if id := e.changeID(e.vm.Reference()); id != "" {
		t.Fatalf("changeId %q after disabling tracking", id)
	}
	e.setTracking(true)
	s3 := e.snapshot("s3")
	_, err = e.qcda(&s3, e.key, 0, id2)
	wantInvalidArgument(t, err, "changeId")
	if all3, _ := e.changed(s3, "*"); len(all3) != 3 {
		t.Fatalf(`"*" at s3 = %v`, all3)
	}

	// An "edit" device change without deviceInfo (legal in vSphere) no longer kills the request.
	devs, err = e.vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	edited := *devs.FindByKey(e.key).(*types.VirtualDisk)
	edited.DeviceInfo = nil
	task, err := e.vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: &edited},
	}})
	if err != nil {
		t.Fatalf("edit without deviceInfo: %v", err)
	}
	if err = task.Wait(ctx); err != nil {
		t.Fatalf("edit without deviceInfo: %v", err)
	}
	if devs, err = e.vm.Device(ctx); err != nil || devs.FindByKey(e.key).GetVirtualDevice().DeviceInfo == nil {
		t.Fatalf("disk after edit: %v", err)
	}

	_ = c.Logout(ctx)
	inst.stop()
}

func TestPlainSimulator(t *testing.T) {
	inst := start(t, "-cbt=false", "-paging=false", "-tls=false", "-vm", "1", "-host", "1")
	if inst.url.Scheme != "http" {
		t.Fatalf("url file says %s", inst.url)
	}
	ctx := context.Background()
	c, err := inst.login(ctx, "anyone", "anything")
	if err != nil {
		t.Fatal(err)
	}
	finder, _ := finderIn(t, ctx, c, false)
	vms, err := finder.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(vms) != 2 { // 1 per cluster resource pool + 1 per standalone host
		t.Fatalf("%d VMs", len(vms))
	}
	// -paging=false: maxObjects ignored, no token, no ContinueRetrievePropertiesEx (vcsim 0.24 as is).
	p := newPager(t, inst)
	if _, pages, trips := p.all(1); len(pages) != 1 || pages[0] != 2 || trips != 1 {
		t.Fatalf("plain vcsim paged: pages %v in %d round trips", pages, trips)
	}
	if _, err = p.next("1"); err == nil {
		t.Fatal("plain vcsim answered ContinueRetrievePropertiesEx")
	} else if _, ok := faultOf(t, err).(types.MethodNotFound); !ok {
		t.Fatalf("plain vcsim answered ContinueRetrievePropertiesEx with %v", err)
	}
	e := &env{t: t, ctx: ctx, c: c, vm: vms[0]}
	e.setTracking(true)
	s := e.snapshot("s")
	_, err = e.qcda(&s, 2000, 0, "*")
	if _, ok := faultOf(t, err).(types.MethodNotFound); !ok {
		t.Fatalf("plain vcsim answered QueryChangedDiskAreas with %v", err)
	}
	// The plain simulator still dies on an "edit" without deviceInfo (the crash cbt.go avoids).
	devs, err := e.vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	edited := *devs.SelectByType((*types.VirtualDisk)(nil))[0].(*types.VirtualDisk)
	edited.DeviceInfo = nil
	task, err := e.vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: &edited},
	}})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err == nil {
		t.Fatal("plain vcsim accepted an edit without deviceInfo; the workaround in cbt.go may be obsolete")
	}
	t.Logf("plain vcsim, edit without deviceInfo: %v", err)
	inst.stop()
}

// -ranged-put=false: a PUT with Content-Range replaces the whole file, as vSphere does (200, no
// confirmation); -corrupt-put N flips the first byte of the Nth PUT to a flat disk file; each
// instance has its own about.instanceUuid.
func TestDatastorePutModes(t *testing.T) {
	inst := start(t, "-ranged-put=false", "-corrupt-put", "2", "-cbt=false", "-tls=false", "-vm", "1", "-host", "1", "-cluster", "0")
	other := start(t, "-tls=false", "-vm", "1", "-host", "1", "-cluster", "0")
	ctx := context.Background()
	c, err := inst.login(ctx, "anyone", "anything")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := other.login(ctx, "anyone", "anything")
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.ServiceContent.About.InstanceUuid, c2.ServiceContent.About.InstanceUuid
	if a == "" || a == b || a == "dbed6e0c-bd88-4ef6-b594-21283e1c677f" {
		t.Fatalf("about.instanceUuid %q and %q: want two distinct random ones", a, b)
	}

	var tmp string
	for _, kv := range inst.cmd.Env {
		if strings.HasPrefix(kv, "TMPDIR=") {
			tmp = strings.TrimPrefix(kv, "TMPDIR=")
		}
	}
	files, _ := filepath.Glob(filepath.Join(tmp, "govcsim-*", "DC0_H0_VM0", "disk1-flat.vmdk"))
	if len(files) != 1 {
		t.Fatalf("flat files: %v", files)
	}
	u := *inst.url
	u.Path = "/folder/DC0_H0_VM0/disk1-flat.vmdk"
	u.RawQuery = "dcPath=DC0&dsName=LocalDS_0"
	put := func(body string, contentRange string) *http.Response {
		req, _ := http.NewRequest("PUT", u.String(), strings.NewReader(body))
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}

	res := put("0123456789", "bytes 100-109/*")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Range") != "" {
		t.Fatalf("ranged PUT with -ranged-put=false: %d, Content-Range %q", res.StatusCode, res.Header.Get("Content-Range"))
	}
	if got, _ := ioutil.ReadFile(files[0]); string(got) != "0123456789" {
		t.Fatalf("after a ranged PUT with -ranged-put=false the file is %d bytes, want the 10-byte body alone", len(got))
	}
	put("abc", "")
	if got, _ := ioutil.ReadFile(files[0]); string(got) != "\x9ebc" {
		t.Fatalf("PUT #2 with -corrupt-put 2: file %q, want the first byte flipped", got)
	}
	put("abc", "")
	if got, _ := ioutil.ReadFile(files[0]); string(got) != "abc" {
		t.Fatalf("PUT #3: file %q", got)
	}
	inst.stop()
	other.stop()
}
