package main

// A simulated guest OS for govmomi 0.24's simulator, which never brings one up by itself
// (guestHeartbeatStatus stays gray and guest.ipAddress empty unless a client sets extraConfig
// SET.* keys). With -guest (on by default):
//
//   - A VM that powers on (PowerOnVM_Task, PowerOnMultiVM_Task, ResetVM_Task; the model's
//     autostart VMs at start) boots its guest after -guest-boot (or extraConfig
//     guestinfo.lab.bootSeconds): guestHeartbeatStatus (and summary.quickStats's) green,
//     guest.guestState running, guest.toolsRunningStatus guestToolsRunning, guest.toolsStatus
//     toolsOk, guest.ipAddress / summary.guest.ipAddress / guest.net[0].ipAddress = -guest-ip (or
//     guestinfo.lab.ip), guest.hostName / summary.guest.hostName = the VM's name. An IP or host
//     name a client set through SET.* while the guest was booting is kept.
//     guestinfo.lab.boot = never: the guest never comes up.
//   - A VM that powers off or suspends (any way) loses its guest at once: heartbeat gray, tools
//     not running, IP and host name cleared. Each power change bumps a per-VM generation, so a
//     boot (or shutdown) timer of an earlier power-on never fires into a later state.
//   - ShutdownGuest answers at once and powers the VM off -guest-shutdown later (vcsim 0.24
//     powers off immediately and never checks the guest); RebootGuest takes the guest down
//     -guest-shutdown later and boots it again. Both fault like vSphere: InvalidPowerState when
//     the VM is not powered on, ToolsUnavailable when its guest is not running.
//
// The guest follows power state changes through a simulator.Map handler (RegisterObject), so
// every path that changes runtime.powerState is covered, not only the SOAP methods we know.
//
// Independent of -guest, vmFilesHandler makes a VM's new disks real files after CreateVM_Task
// and ReconfigVM_Task (vcsim 0.24 leaves an empty descriptor and an empty -flat.vmdk): a
// descriptor and a sparse flat file of the disk's capacity, as disks.go does for the model's VMs.

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// extraConfig keys a VM may carry to steer its simulated guest.
const (
	keyBoot        = "guestinfo.lab.boot"        // "never": the guest never comes up
	keyBootSeconds = "guestinfo.lab.bootSeconds" // boot delay in seconds (may be fractional)
	keyIP          = "guestinfo.lab.ip"          // the guest's IP address
)

type guestOptions struct {
	Boot     time.Duration // power on -> guest up
	IP       string        // default guest IP
	Shutdown time.Duration // ShutdownGuest/RebootGuest -> guest down
}

// guestSim is both the Map handler that follows power state and the /sdk handler for the guest
// operations.
type guestSim struct {
	next http.Handler
	opt  guestOptions

	mu  sync.Mutex
	gen map[string]uint64 // VM moref value -> generation, bumped on every power state change
	up  map[string]bool   // VM moref value -> guest running
}

func newGuestSim(opt guestOptions) *guestSim {
	return &guestSim{opt: opt, gen: make(map[string]uint64), up: make(map[string]bool)}
}

// install registers the Map handler and boots the guests of VMs that are already powered on.
// Call it after model.Create (which makes a new simulator.Map).
func (g *guestSim) install() {
	simulator.Map.AddHandler(g)
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		simulator.Map.WithLock(vm, func() {
			if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
				gen := g.bump(vm.Self)
				g.guestUp(vm, gen) // at start: no boot delay
			}
		})
	}
}

// handler puts the ShutdownGuest/RebootGuest implementation in front of next.
func (g *guestSim) handler(next http.Handler) http.Handler {
	g.next = next
	return g
}

// Reference names the handler in simulator.Map's handler table.
func (g *guestSim) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "DrvcsimGuest", Value: "guest-simulator"}
}

func (g *guestSim) PutObject(mo.Reference) {}

func (g *guestSim) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type != "VirtualMachine" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.gen[ref.Value]; ok {
		g.gen[ref.Value]++ // pending timers of a destroyed VM do nothing
		delete(g.up, ref.Value)
	}
}

// UpdateObject runs inside simulator.Map.Update, with the VM locked by whoever changes its
// power state (the simulator's methods run under the object's lock).
func (g *guestSim) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	ref := obj.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	var state types.VirtualMachinePowerState
	found := false
	for _, c := range changes {
		if c.Name == "runtime.powerState" {
			if s, ok := c.Val.(types.VirtualMachinePowerState); ok {
				state, found = s, true
			}
		}
	}
	if !found {
		return
	}
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	gen := g.bump(ref)
	if state == types.VirtualMachinePowerStatePoweredOn {
		g.scheduleBoot(vm, gen)
		return
	}
	g.guestDown(vm)
}

// bump starts a new generation for the VM (its guest is down in it until booted).
func (g *guestSim) bump(ref types.ManagedObjectReference) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gen[ref.Value]++
	g.up[ref.Value] = false
	return g.gen[ref.Value]
}

func (g *guestSim) current(ref types.ManagedObjectReference, gen uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen[ref.Value] == gen
}

func (g *guestSim) running(ref types.ManagedObjectReference) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.up[ref.Value]
}

func extraConfigValue(vm *simulator.VirtualMachine, key string) (string, bool) {
	if vm.Config == nil {
		return "", false
	}
	// vcsim 0.24 appends a reconfigured key again: the last one wins; "" removes it, as in vSphere.
	val, found := "", false
	for _, o := range vm.Config.ExtraConfig {
		if v := o.GetOptionValue(); v != nil && v.Key == key {
			val = strings.TrimSpace(fmt.Sprint(v.Value))
			found = val != ""
		}
	}
	return val, found
}

// bootDelay is the VM's boot delay; never is true for guestinfo.lab.boot = never. VM locked.
func (g *guestSim) bootDelay(vm *simulator.VirtualMachine) (delay time.Duration, never bool) {
	if v, ok := extraConfigValue(vm, keyBoot); ok && strings.EqualFold(v, "never") {
		return 0, true
	}
	delay = g.opt.Boot
	if v, ok := extraConfigValue(vm, keyBootSeconds); ok {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s < 0 || s > 1e6 {
			log.Printf("guest %s: ignoring %s=%q (want seconds >= 0)", vm.Self.Value, keyBootSeconds, v)
		} else {
			delay = time.Duration(s * float64(time.Second))
		}
	}
	return delay, false
}

// guestIP is the VM's guest IP; VM locked.
func (g *guestSim) guestIP(vm *simulator.VirtualMachine) string {
	if v, ok := extraConfigValue(vm, keyIP); ok {
		if net.ParseIP(v) != nil {
			return v
		}
		log.Printf("guest %s: ignoring %s=%q (not an IP address)", vm.Self.Value, keyIP, v)
	}
	return g.opt.IP
}

// scheduleBoot brings the guest up after the boot delay unless the generation moved on; VM locked.
func (g *guestSim) scheduleBoot(vm *simulator.VirtualMachine, gen uint64) {
	delay, never := g.bootDelay(vm)
	if never {
		log.Printf("guest %s (%s): %s=never, not booting", vm.Self.Value, vm.Name, keyBoot)
		return
	}
	delay += bootJitter() // boottime.go: -guest-boot-jitter
	log.Printf("guest %s (%s): booting in %.6f s", vm.Self.Value, vm.Name, delay.Seconds())
	time.AfterFunc(delay, func() {
		simulator.Map.WithLock(vm, func() {
			if g.current(vm.Self, gen) && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
				g.guestUp(vm, gen)
			}
		})
	})
}

// guestUp publishes a running guest; VM locked, gen current.
func (g *guestSim) guestUp(vm *simulator.VirtualMachine, gen uint64) {
	if vm.Guest == nil {
		vm.Guest = &types.GuestInfo{}
	}
	if vm.Summary.Guest == nil {
		vm.Summary.Guest = &types.VirtualMachineGuestSummary{}
	}
	ip := vm.Guest.IpAddress // set by a client (SET.guest.ipAddress) while booting: keep it
	if ip == "" {
		ip = g.guestIP(vm)
	}
	host := vm.Guest.HostName
	if host == "" {
		host = vm.Name
	}
	changes := []types.PropertyChange{
		{Name: "guestHeartbeatStatus", Val: types.ManagedEntityStatusGreen},
		{Name: "summary.quickStats.guestHeartbeatStatus", Val: types.ManagedEntityStatusGreen},
		{Name: "guest.guestState", Val: "running"},
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
		{Name: "guest.ipAddress", Val: ip},
		{Name: "guest.hostName", Val: host},
		{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		{Name: "summary.guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
		{Name: "summary.guest.ipAddress", Val: ip},
		{Name: "summary.guest.hostName", Val: host},
	}
	if len(vm.Guest.Net) > 0 {
		nics := copyNics(vm.Guest.Net)
		nics[0].IpAddress = []string{ip}
		vm.Guest.Net = nics
		changes = append(changes, types.PropertyChange{Name: "guest.net", Val: nics})
	}
	simulator.Map.Update(vm, changes)
	g.mu.Lock()
	if g.gen[vm.Self.Value] == gen {
		g.up[vm.Self.Value] = true
	}
	g.mu.Unlock()
	log.Printf("guest %s (%s): up, ip %s", vm.Self.Value, vm.Name, ip)
}

// guestDown publishes a stopped guest; VM locked.
func (g *guestSim) guestDown(vm *simulator.VirtualMachine) {
	if vm.Guest == nil || vm.Summary.Guest == nil {
		return
	}
	changes := []types.PropertyChange{
		{Name: "guestHeartbeatStatus", Val: types.ManagedEntityStatusGray},
		{Name: "summary.quickStats.guestHeartbeatStatus", Val: types.ManagedEntityStatusGray},
		{Name: "guest.guestState", Val: "notRunning"},
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
		{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsNotRunning},
		{Name: "guest.ipAddress", Val: ""},
		{Name: "guest.hostName", Val: ""},
		{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
		{Name: "summary.guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsNotRunning},
		{Name: "summary.guest.ipAddress", Val: ""},
		{Name: "summary.guest.hostName", Val: ""},
	}
	if len(vm.Guest.Net) > 0 {
		nics := copyNics(vm.Guest.Net)
		for i := range nics {
			nics[i].IpAddress = nil
		}
		vm.Guest.Net = nics
		changes = append(changes, types.PropertyChange{Name: "guest.net", Val: nics})
	}
	simulator.Map.Update(vm, changes)
}

// copyNics copies guest.net: earlier answers and updates may still be marshalling the old slice.
func copyNics(nics []types.GuestNicInfo) []types.GuestNicInfo {
	return append([]types.GuestNicInfo(nil), nics...)
}

func (g *guestSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readSDKRequest(w, r, g.next)
	if !ok {
		return
	}
	if bytes.Contains(body, []byte("ShutdownGuest")) || bytes.Contains(body, []byte("RebootGuest")) {
		if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
			switch req := m.Body.(type) {
			case *types.ShutdownGuest:
				g.guestOp(w, r, req.This, "ShutdownGuestResponse", &types.ShutdownGuestResponse{}, true)
				return
			case *types.RebootGuest:
				g.guestOp(w, r, req.This, "RebootGuestResponse", &types.RebootGuestResponse{}, false)
				return
			}
		}
	}
	g.next.ServeHTTP(w, r)
}

// guestOp checks like vSphere, answers at once and acts -guest-shutdown later, as a guest does.
func (g *guestSim) guestOp(w http.ResponseWriter, r *http.Request, this types.ManagedObjectReference, name string, res interface{}, shutdown bool) {
	if !loggedIn(g.next, r) {
		writeFault(w, "", &types.NotAuthenticated{NoPermission: types.NoPermission{Object: this, PrivilegeId: "VirtualMachine.Interact.PowerOff"}})
		return
	}
	vm, ok := simulator.Map.Get(this).(*simulator.VirtualMachine)
	if !ok {
		notFound(w, this)
		return
	}
	var fault types.BaseMethodFault
	var gen uint64
	var state types.VirtualMachinePowerState
	simulator.Map.WithLock(vm, func() {
		g.mu.Lock()
		gen, ok = g.gen[vm.Self.Value], g.up[vm.Self.Value]
		g.mu.Unlock()
		state = vm.Runtime.PowerState
		switch {
		case state != types.VirtualMachinePowerStatePoweredOn:
			fault = &types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOn, ExistingState: state}
		case !ok:
			fault = &types.ToolsUnavailable{}
		}
	})
	if fault != nil {
		msg := "The attempted operation cannot be performed in the current state (" + string(state) + ")."
		if _, tools := fault.(*types.ToolsUnavailable); tools {
			msg = "Cannot complete operation because VMware Tools is not running in this virtual machine."
		}
		writeFault(w, msg, fault)
		return
	}
	time.AfterFunc(g.opt.Shutdown, func() {
		simulator.Map.WithLock(vm, func() {
			if !g.current(vm.Self, gen) || vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
				return // powered off/on meanwhile: the earlier request is moot
			}
			if shutdown {
				// The simulator's own ShutdownGuest does the power off (events, powerState); our
				// Map handler then takes the guest down.
				ctx := &simulator.Context{
					Context: context.Background(),
					Session: &simulator.Session{UserSession: types.UserSession{UserName: "vpxd-extension"}},
					Map:     simulator.Map,
					Caller:  &vm.Self, // vm is locked already
				}
				if res := vm.ShutdownGuest(ctx, &types.ShutdownGuest{This: vm.Self}); res.Fault() != nil {
					log.Printf("guest %s: shutdown: %v", vm.Self.Value, res.Fault().VimFault())
				} else {
					log.Printf("guest %s (%s): shut down, powered off", vm.Self.Value, vm.Name)
				}
				return
			}
			next := g.bump(vm.Self)
			g.guestDown(vm)
			log.Printf("guest %s (%s): rebooting", vm.Self.Value, vm.Name)
			g.scheduleBoot(vm, next)
		})
	})
	writeResponse(w, name, res)
}

// vmFilesHandler gives new disks real files after CreateVM_Task / ReconfigVM_Task succeed.
type vmFilesHandler struct {
	next http.Handler
}

func newVMFilesHandler(next http.Handler) http.Handler {
	return &vmFilesHandler{next: next}
}

func (h *vmFilesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readSDKRequest(w, r, h.next)
	if !ok {
		return
	}
	if !bytes.Contains(body, []byte("CreateVM_Task")) && !bytes.Contains(body, []byte("ReconfigVM_Task")) {
		h.next.ServeHTTP(w, r)
		return
	}
	m, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil || (m.Name != "CreateVM_Task" && m.Name != "ReconfigVM_Task") {
		h.next.ServeHTTP(w, r)
		return
	}
	rec := httptestRecorder(h.next, r)
	if rec.Code == http.StatusOK {
		if state, result, ok := taskOutcome(returnval(rec.Body.Bytes())); ok && state == types.TaskInfoStateSuccess {
			target := m.This
			if m.Name == "CreateVM_Task" {
				target, _ = result.(types.ManagedObjectReference)
			}
			if err := makeDiskFiles(target); err != nil {
				log.Printf("%s: disk files of %s: %s", m.Name, target.Value, err)
			}
		}
	}
	copyResponse(w, rec)
}

// taskOutcome waits for a simulator task to finish (0.24 runs them before answering).
func taskOutcome(ref types.ManagedObjectReference) (types.TaskInfoState, types.AnyType, bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		task, ok := simulator.Map.Get(ref).(*simulator.Task)
		if !ok {
			return "", nil, false
		}
		var state types.TaskInfoState
		var result types.AnyType
		simulator.Map.WithLock(task, func() { state, result = task.Info.State, task.Info.Result })
		if state == types.TaskInfoStateSuccess || state == types.TaskInfoStateError {
			return state, result, true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "", nil, false
}

// makeDiskFiles writes the descriptor and sizes the flat file of each of the VM's disks.
func makeDiskFiles(ref types.ManagedObjectReference) error {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return fmt.Errorf("no such VM")
	}
	var disks []diskInfo
	var err error
	simulator.Map.WithLock(vm, func() { disks, err = vmDisks(vm) })
	if err != nil {
		return err
	}
	return ensureDiskFiles(disks)
}
