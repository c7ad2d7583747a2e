package main

// Changed block tracking for govmomi 0.24's simulator, which has no QueryChangedDiskAreas.
// An http.Handler in front of /sdk (not a Map.Put wrapper: snapshot.go type-asserts
// *simulator.VirtualMachine) watches three methods and passes every other request on:
//   - CreateSnapshot_Task: when config.changeTrackingEnabled, hash every block of each disk's
//     flat file (vcsim snapshots make no delta disks, so this IS the disk at the snapshot),
//     pass the call on, then give each disk backing a new changeId in the VM's config and in
//     the snapshot's own config.
//   - ReconfigVM_Task: turning tracking off forgets the VM's change ids, as vSphere does.
//   - QueryChangedDiskAreas: answered here from the recorded hashes, paged like vSphere.

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	vimxml "github.com/vmware/govmomi/vim25/xml"
)

type cbtOptions struct {
	BlockSize  int64 // tracking granularity
	MaxExtents int   // extents per QueryChangedDiskAreas answer
	MaxLength  int64 // disk bytes covered per answer, 0 = to the end of the disk
}

// diskState is one disk's content at one snapshot, named by the changeId it was given.
type diskState struct {
	vm       types.ManagedObjectReference
	key      int32
	changeID string
	capacity int64
	blocks   []blockHash
}

// tracker is the per-disk identity vSphere keeps in the disk's ctk file: uuid plus sequence.
type tracker struct {
	uuid string
	seq  int
}

type cbtHandler struct {
	next http.Handler
	opt  cbtOptions

	mu         sync.Mutex // guards the maps; also serializes snapshot recording
	byChangeID map[string]*diskState
	bySnapshot map[string]map[int32]*diskState // snapshot moref value -> device key
	trackers   map[string]*tracker             // "vm-value/deviceKey"
}

func newCBTHandler(next http.Handler, opt cbtOptions) *cbtHandler {
	return &cbtHandler{
		next:       next,
		opt:        opt,
		byChangeID: make(map[string]*diskState),
		bySnapshot: make(map[string]map[int32]*diskState),
		trackers:   make(map[string]*tracker),
	}
}

// isSDK matches the vim25 endpoints; /pbm, /vsan etc. are left alone.
func isSDK(path string) bool {
	return path == "/sdk" || path == "/sdk/vimService"
}

func (h *cbtHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readSDKRequest(w, r, h.next)
	if !ok {
		return
	}

	// Cheap filter first: only the three methods we care about get a full vim25 decode.
	if bytes.Contains(body, []byte("CreateSnapshot_Task")) ||
		bytes.Contains(body, []byte("ReconfigVM_Task")) ||
		bytes.Contains(body, []byte("QueryChangedDiskAreas")) {
		if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
			switch m.Name {
			case "CreateSnapshot_Task":
				h.createSnapshot(w, r, m)
				return
			case "ReconfigVM_Task":
				h.reconfigure(w, r, m)
				return
			case "QueryChangedDiskAreas":
				h.queryChangedDiskAreas(w, r, m.Body.(*types.QueryChangedDiskAreas))
				return
			}
		}
	}
	h.next.ServeHTTP(w, r)
}

// readSDKRequest reads the body of a vim25 SOAP request (and puts it back for the next handler);
// anything else goes straight to next, as does nothing when ok is false.
func readSDKRequest(w http.ResponseWriter, r *http.Request, next http.Handler) (body []byte, ok bool) {
	if r.Method != http.MethodPost || !isSDK(r.URL.Path) {
		next.ServeHTTP(w, r)
		return nil, false
	}
	body, err := ioutil.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	setBody(r, body)
	return body, true
}

func setBody(r *http.Request, body []byte) {
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
}

// forward runs the request through the simulator into a recorder, so we can act before answering.
func (h *cbtHandler) forward(r *http.Request) *httptest.ResponseRecorder {
	return httptestRecorder(h.next, r)
}

func httptestRecorder(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

// loggedIn asks the simulator (next) whether the request's session cookie is logged in.
func loggedIn(next http.Handler, r *http.Request) bool {
	const probe = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<CurrentTime xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></CurrentTime></soapenv:Body></soapenv:Envelope>`
	pr := r.Clone(r.Context())
	setBody(pr, []byte(probe))
	return httptestRecorder(next, pr).Code == http.StatusOK
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func trackingOn(vm *simulator.VirtualMachine) bool {
	return vm.Config != nil && vm.Config.ChangeTrackingEnabled != nil && *vm.Config.ChangeTrackingEnabled
}

func (h *cbtHandler) createSnapshot(w http.ResponseWriter, r *http.Request, m *simulator.Method) {
	vm, ok := simulator.Map.Get(m.This).(*simulator.VirtualMachine)
	if !ok {
		h.next.ServeHTTP(w, r)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()

	var tracking bool
	var disks []diskInfo
	var err error
	simulator.Map.WithLock(vm, func() {
		if tracking = trackingOn(vm); tracking {
			disks, err = vmDisks(vm)
		}
	})
	// Read the disks before the snapshot exists: that is the content the snapshot freezes.
	var states []*diskState
	if tracking && err == nil {
		err = ensureDiskFiles(disks)
		for _, d := range disks {
			if err != nil {
				break
			}
			var blocks []blockHash
			blocks, err = readBlocks(d.FlatPath, d.Capacity, h.opt.BlockSize)
			states = append(states, &diskState{vm: vm.Self, key: d.Key, capacity: d.Capacity, blocks: blocks})
		}
	}
	if err != nil {
		log.Printf("CreateSnapshot %s: reading disks: %s", vm.Self.Value, err)
		writeFault(w, err.Error(), &types.FileFault{File: vm.Config.Files.VmPathName})
		return
	}

	rec := h.forward(r)
	if tracking && rec.Code == http.StatusOK {
		if snap, ok := waitTask(returnval(rec.Body.Bytes())); ok {
			h.record(vm, snap, states)
		}
	}
	copyResponse(w, rec)
}

// returnval extracts the managed object reference in a *_TaskResponse.
func returnval(body []byte) types.ManagedObjectReference {
	var ref types.ManagedObjectReference
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return ref
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "returnval" {
			for _, a := range se.Attr {
				if a.Name.Local == "type" {
					ref.Type = a.Value
				}
			}
			var v string
			if d.DecodeElement(&v, &se) == nil {
				ref.Value = strings.TrimSpace(v)
			}
			return ref
		}
	}
}

// waitTask waits for a simulator task (0.24 runs them before answering; later versions may not).
func waitTask(ref types.ManagedObjectReference) (types.ManagedObjectReference, bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		task, ok := simulator.Map.Get(ref).(*simulator.Task)
		if !ok {
			return types.ManagedObjectReference{}, false
		}
		var state types.TaskInfoState
		var result types.AnyType
		simulator.Map.WithLock(task, func() {
			state, result = task.Info.State, task.Info.Result
		})
		switch state {
		case types.TaskInfoStateSuccess:
			snap, ok := result.(types.ManagedObjectReference)
			return snap, ok
		case types.TaskInfoStateError:
			return types.ManagedObjectReference{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return types.ManagedObjectReference{}, false
}

// newChangeID continues the disk's tracker in vSphere's "52 xx .. xx-xx .. xx/seq" format.
func (h *cbtHandler) newChangeID(vm types.ManagedObjectReference, key int32) string {
	id := fmt.Sprintf("%s/%d", vm.Value, key)
	t := h.trackers[id]
	if t == nil {
		var b [15]byte
		_, _ = io.ReadFull(rand.Reader, b[:])
		var sb strings.Builder
		sb.WriteString("52")
		for i, x := range b {
			if i == 7 {
				fmt.Fprintf(&sb, "-%02x", x)
			} else {
				fmt.Fprintf(&sb, " %02x", x)
			}
		}
		t = &tracker{uuid: sb.String()}
		h.trackers[id] = t
	}
	t.seq++
	return fmt.Sprintf("%s/%d", t.uuid, t.seq)
}

// record files the states under the new snapshot and publishes their changeIds; h.mu is held.
func (h *cbtHandler) record(vm *simulator.VirtualMachine, snapRef types.ManagedObjectReference, states []*diskState) {
	snap, ok := simulator.Map.Get(snapRef).(*simulator.VirtualMachineSnapshot)
	if !ok {
		return
	}
	ids := make(map[int32]string)
	perDisk := make(map[int32]*diskState)
	for _, st := range states {
		st.changeID = h.newChangeID(vm.Self, st.key)
		h.byChangeID[st.changeID] = st
		perDisk[st.key] = st
		ids[st.key] = st.changeID
	}
	h.bySnapshot[snapRef.Value] = perDisk

	simulator.Map.WithLock(vm, func() {
		setChangeIDs(vm.Config.Hardware.Device, ids)
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "config.hardware.device", Val: vm.Config.Hardware.Device},
		})
	})
	// The snapshot's config shares device pointers with the VM's: give it its own disk copies,
	// so later snapshots do not rewrite this one's changeIds.
	simulator.Map.WithLock(snap, func() {
		devs := make([]types.BaseVirtualDevice, len(snap.Config.Hardware.Device))
		for i, dev := range snap.Config.Hardware.Device {
			devs[i] = dev
			if disk, ok := dev.(*types.VirtualDisk); ok {
				if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
					dc, bc := *disk, *b
					dc.Backing = &bc
					devs[i] = &dc
				}
			}
		}
		setChangeIDs(devs, ids)
		snap.Config.Hardware.Device = devs
	})
	log.Printf("snapshot %s of %s: change ids %v", snapRef.Value, vm.Self.Value, ids)
}

func setChangeIDs(devs []types.BaseVirtualDevice, ids map[int32]string) {
	for _, dev := range devs {
		if disk, ok := dev.(*types.VirtualDisk); ok {
			if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
				if id, ok := ids[disk.Key]; ok {
					b.ChangeId = id
				}
			}
		}
	}
}

func (h *cbtHandler) reconfigure(w http.ResponseWriter, r *http.Request, m *simulator.Method) {
	vm, ok := simulator.Map.Get(m.This).(*simulator.VirtualMachine)
	if !ok {
		h.next.ServeHTTP(w, r)
		return
	}
	if req, ok := m.Body.(*types.ReconfigVM_Task); ok && fillEditDeviceInfo(req) {
		if err := reencode(r, m, &methods.ReconfigVM_TaskBody{Req: req}); err != nil {
			writeFault(w, err.Error(), &types.InvalidRequest{})
			return
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()

	var before, after bool
	simulator.Map.WithLock(vm, func() { before = trackingOn(vm) })
	rec := h.forward(r)
	simulator.Map.WithLock(vm, func() {
		after = trackingOn(vm)
		if before && !after {
			// vSphere deletes the ctk files: old changeIds become invalid, backings lose theirs.
			clear := make(map[int32]string)
			for _, dev := range vm.Config.Hardware.Device {
				if disk, ok := dev.(*types.VirtualDisk); ok {
					clear[disk.Key] = ""
				}
			}
			setChangeIDs(vm.Config.Hardware.Device, clear)
		}
	})
	if before && !after {
		h.forget(vm.Self)
	}
	copyResponse(w, rec)
}

// fillEditDeviceInfo gives "edit" device changes without deviceInfo an empty one: vSphere allows
// leaving it out, but the 0.24 simulator dereferences it (configureDevices) and the request dies.
func fillEditDeviceInfo(req *types.ReconfigVM_Task) bool {
	changed := false
	for _, c := range req.Spec.DeviceChange {
		s := c.GetVirtualDeviceConfigSpec()
		if s.Operation != types.VirtualDeviceConfigSpecOperationEdit || s.Device == nil {
			continue
		}
		if d := s.Device.GetVirtualDevice(); d.DeviceInfo == nil {
			d.DeviceInfo = &types.Description{}
			changed = true
		}
	}
	return changed
}

// reencode replaces the request body with body (a methods.*Body) as a vim25 client would send it.
func reencode(r *http.Request, m *simulator.Method, body interface{}) error {
	header := m.Header
	header.Security = nil // only used by LoginByToken
	var buf bytes.Buffer
	buf.WriteString(vimxml.Header)
	if err := vimxml.NewEncoder(&buf).Encode(soap.Envelope{Header: &header, Body: body}); err != nil {
		return err
	}
	setBody(r, buf.Bytes())
	return nil
}

// forget drops every change id of the VM; h.mu is held.
func (h *cbtHandler) forget(vm types.ManagedObjectReference) {
	for id, st := range h.byChangeID {
		if st.vm == vm {
			delete(h.byChangeID, id)
		}
	}
	for snap, disks := range h.bySnapshot {
		for _, st := range disks {
			if st.vm == vm {
				delete(h.bySnapshot, snap)
				break
			}
		}
	}
	prefix := vm.Value + "/"
	for id := range h.trackers {
		if strings.HasPrefix(id, prefix) {
			delete(h.trackers, id)
		}
	}
	log.Printf("change tracking off for %s: change ids forgotten", vm.Value)
}

// authenticated asks the simulator whether the request's session cookie is logged in.
func (h *cbtHandler) authenticated(r *http.Request) bool {
	return loggedIn(h.next, r)
}

func (h *cbtHandler) queryChangedDiskAreas(w http.ResponseWriter, r *http.Request, req *types.QueryChangedDiskAreas) {
	if !h.authenticated(r) {
		writeFault(w, "", &types.NotAuthenticated{NoPermission: types.NoPermission{Object: req.This, PrivilegeId: "System.View"}})
		return
	}
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		notFound(w, req.This)
		return
	}
	var tracking, poweredOn bool
	var disks []diskInfo
	var err error
	simulator.Map.WithLock(vm, func() {
		tracking = trackingOn(vm)
		poweredOn = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
		disks, err = vmDisks(vm)
	})
	if err != nil {
		writeFault(w, err.Error(), &types.FileFault{File: vm.Config.Files.VmPathName})
		return
	}
	var disk *diskInfo
	for i := range disks {
		if disks[i].Key == req.DeviceKey {
			disk = &disks[i]
		}
	}
	if disk == nil {
		invalidArgument(w, "deviceKey")
		return
	}
	if !tracking {
		fileFault(w, disk.FileName)
		return
	}

	capacity := disk.Capacity
	var blocks []blockHash
	if req.Snapshot != nil {
		snap, ok := simulator.Map.Get(*req.Snapshot).(*simulator.VirtualMachineSnapshot)
		if !ok {
			notFound(w, *req.Snapshot)
			return
		}
		if snap.Vm != vm.Self {
			invalidArgument(w, "snapshot")
			return
		}
		h.mu.Lock()
		st := h.bySnapshot[req.Snapshot.Value][req.DeviceKey]
		h.mu.Unlock()
		if st == nil {
			fileFault(w, disk.FileName) // snapshot taken while tracking was off: no ctk data
			return
		}
		capacity, blocks = st.capacity, st.blocks
	} else {
		// vSphere only allows "no snapshot" (the current disk) for a powered-off VM.
		if poweredOn {
			invalidArgument(w, "snapshot")
			return
		}
		if blocks, err = readBlocks(disk.FlatPath, capacity, h.opt.BlockSize); err != nil {
			fileFault(w, disk.FileName)
			return
		}
	}
	if req.StartOffset < 0 || req.StartOffset >= capacity {
		invalidArgument(w, "startOffset")
		return
	}

	var base []blockHash // nil: "*", compare with an all-zero disk = allocated areas
	if req.ChangeId != "*" {
		h.mu.Lock()
		st := h.byChangeID[req.ChangeId]
		h.mu.Unlock()
		if st == nil || st.vm != vm.Self || st.key != req.DeviceKey {
			invalidArgument(w, "changeId")
			return
		}
		base = st.blocks
	}

	info := changedAreas(blocks, base, capacity, req.StartOffset, h.opt)
	writeResponse(w, "QueryChangedDiskAreasResponse", &types.QueryChangedDiskAreasResponse{Returnval: info})
}

// changedAreas lists the blocks that differ between cur and base from start on, merged into
// extents, stopping at opt.MaxExtents extents or opt.MaxLength bytes; Length tells the caller
// how far this answer reaches, so it continues at StartOffset+Length.
func changedAreas(cur, base []blockHash, capacity, start int64, opt cbtOptions) types.DiskChangeInfo {
	bs := opt.BlockSize
	end := capacity
	if opt.MaxLength > 0 && start+opt.MaxLength < end {
		end = start + opt.MaxLength
	}
	at := func(b []blockHash, i int64) blockHash {
		if i < int64(len(b)) {
			return b[i]
		}
		return blockHash{}
	}
	info := types.DiskChangeInfo{StartOffset: start}
	covered := end
	for i := start / bs; i*bs < end; i++ {
		if at(cur, i) == at(base, i) {
			continue
		}
		s, e := i*bs, (i+1)*bs
		if s < start {
			s = start
		}
		if e > end {
			e = end
		}
		if n := len(info.ChangedArea); n > 0 && info.ChangedArea[n-1].Start+info.ChangedArea[n-1].Length == s {
			info.ChangedArea[n-1].Length += e - s
			continue
		}
		if len(info.ChangedArea) == opt.MaxExtents {
			covered = s // the next call starts with this extent
			break
		}
		info.ChangedArea = append(info.ChangedArea, types.DiskChangeExtent{Start: s, Length: e - s})
	}
	info.Length = covered - start
	return info
}
