package main

// End-to-end checks of the simulated guest (guest.go) and of the disk files of VMs created with
// new disks, through govmomi's client against the real binary.

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io/ioutil"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type guestEnv struct {
	t      *testing.T
	ctx    context.Context
	c      *govmomi.Client
	finder *find.Finder
	dc     *object.Datacenter
}

func newGuestEnv(t *testing.T, inst *instance) *guestEnv {
	t.Helper()
	ctx := context.Background()
	c, err := inst.login(ctx, "lab", "lab")
	if err != nil {
		t.Fatal(err)
	}
	finder, dc := finderIn(t, ctx, c, true)
	return &guestEnv{t: t, ctx: ctx, c: c, finder: finder, dc: dc}
}

func (e *guestEnv) vm(name string) *object.VirtualMachine {
	e.t.Helper()
	vm, err := e.finder.VirtualMachine(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return vm
}

type guestView struct {
	power     types.VirtualMachinePowerState
	heartbeat types.ManagedEntityStatus
	tools     string
	ip        string
	sumIP     string
	host      string
	netIP     []string
}

func (e *guestEnv) guest(vm *object.VirtualMachine) guestView {
	e.t.Helper()
	var m mo.VirtualMachine
	if err := vm.Properties(e.ctx, vm.Reference(), []string{"runtime.powerState", "guestHeartbeatStatus", "guest", "summary.guest"}, &m); err != nil {
		e.t.Fatal(err)
	}
	v := guestView{power: m.Runtime.PowerState, heartbeat: m.GuestHeartbeatStatus}
	if m.Guest != nil {
		v.tools, v.ip, v.host = m.Guest.ToolsRunningStatus, m.Guest.IpAddress, m.Guest.HostName
		if len(m.Guest.Net) > 0 {
			v.netIP = m.Guest.Net[0].IpAddress
		}
	}
	if m.Summary.Guest != nil {
		v.sumIP = m.Summary.Guest.IpAddress
	}
	return v
}

// waitGuest polls until cond holds, failing after limit.
func (e *guestEnv) waitGuest(vm *object.VirtualMachine, limit time.Duration, what string, cond func(guestView) bool) guestView {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		v := e.guest(vm)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not %s after %s: %+v", vm.Name(), what, limit, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isUp(v guestView) bool {
	return v.heartbeat == types.ManagedEntityStatusGreen
}

func isDown(v guestView) bool {
	return v.heartbeat == types.ManagedEntityStatusGray && v.ip == "" && v.sumIP == "" &&
		v.tools != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
}

func (e *guestEnv) run(task *object.Task, err error) {
	e.t.Helper()
	if err == nil {
		err = task.Wait(e.ctx)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *guestEnv) setExtraConfig(vm *object.VirtualMachine, kv ...string) {
	e.t.Helper()
	var opts []types.BaseOptionValue
	for i := 0; i < len(kv); i += 2 {
		opts = append(opts, &types.OptionValue{Key: kv[i], Value: kv[i+1]})
	}
	e.run(vm.Reconfigure(e.ctx, types.VirtualMachineConfigSpec{ExtraConfig: opts}))
}

func TestEndToEndGuest(t *testing.T) {
	inst := start(t, "-guest-boot", "300ms", "-guest-shutdown", "300ms")
	e := newGuestEnv(t, inst)

	// Autostart VMs have their guest up at start, with the default IP and their name as host name.
	vm := e.vm("DC0_H0_VM0")
	v := e.guest(vm)
	if v.power != types.VirtualMachinePowerStatePoweredOn || !isUp(v) || v.ip != "127.0.0.1" || v.sumIP != "127.0.0.1" ||
		v.host != "DC0_H0_VM0" || v.tools != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		t.Fatalf("autostart VM at start: %+v", v)
	}
	if len(v.netIP) != 1 || v.netIP[0] != "127.0.0.1" {
		t.Fatalf("guest.net[0].ipAddress = %v", v.netIP)
	}

	// Power off: the guest is gone at once; ShutdownGuest/RebootGuest fault InvalidPowerState.
	e.run(vm.PowerOff(e.ctx))
	if v = e.guest(vm); !isDown(v) || len(v.netIP) != 0 {
		t.Fatalf("after power off: %+v", v)
	}
	err := vm.ShutdownGuest(e.ctx)
	if f, ok := faultOf(t, err).(types.InvalidPowerState); !ok || f.ExistingState != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("ShutdownGuest of a powered-off VM: %#v", faultOf(t, err))
	}

	// Power on: down at first, up after the boot delay; ShutdownGuest while booting: ToolsUnavailable.
	t0 := time.Now()
	e.run(vm.PowerOn(e.ctx))
	if v = e.guest(vm); !isDown(v) {
		t.Fatalf("right after power on: %+v", v)
	}
	if _, ok := faultOf(t, vm.ShutdownGuest(e.ctx)).(types.ToolsUnavailable); !ok {
		t.Fatalf("ShutdownGuest while booting: %v", vm.ShutdownGuest(e.ctx))
	}
	v = e.waitGuest(vm, 5*time.Second, "up", isUp)
	if d := time.Since(t0); d < 250*time.Millisecond {
		t.Fatalf("guest up after %s, want the 300ms boot delay", d)
	}
	if v.ip != "127.0.0.1" || v.host != "DC0_H0_VM0" {
		t.Fatalf("after boot: %+v", v)
	}

	// ShutdownGuest: answered at once, the VM still runs, then powers off after -guest-shutdown.
	if err := vm.ShutdownGuest(e.ctx); err != nil {
		t.Fatal(err)
	}
	if v = e.guest(vm); v.power != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("right after ShutdownGuest: %+v", v)
	}
	v = e.waitGuest(vm, 5*time.Second, "powered off", func(v guestView) bool { return v.power == types.VirtualMachinePowerStatePoweredOff })
	if !isDown(v) {
		t.Fatalf("after ShutdownGuest: %+v", v)
	}

	// A power on after the shutdown boots again; per-VM IP from extraConfig.
	e.setExtraConfig(vm, "guestinfo.lab.ip", "10.1.2.3")
	e.run(vm.PowerOn(e.ctx))
	if v = e.waitGuest(vm, 5*time.Second, "up", isUp); v.ip != "10.1.2.3" || v.sumIP != "10.1.2.3" {
		t.Fatalf("with guestinfo.lab.ip: %+v", v)
	}

	// RebootGuest: the guest goes down and comes back, the VM stays on.
	if err := vm.RebootGuest(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.waitGuest(vm, 5*time.Second, "down for reboot", isDown)
	if v = e.waitGuest(vm, 5*time.Second, "up after reboot", isUp); v.power != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("after reboot: %+v", v)
	}

	// Generations: the boot timer of an earlier power on never fires after a power off / on.
	e.run(vm.PowerOff(e.ctx))
	e.setExtraConfig(vm, "guestinfo.lab.bootSeconds", "0.5")
	e.run(vm.PowerOn(e.ctx))
	e.run(vm.PowerOff(e.ctx))
	e.setExtraConfig(vm, "guestinfo.lab.bootSeconds", "2.5")
	t0 = time.Now()
	e.run(vm.PowerOn(e.ctx))
	time.Sleep(1200 * time.Millisecond) // the first power on's timer (0.5 s) has fired by now
	if v = e.guest(vm); !isDown(v) {
		t.Fatalf("the earlier power on's boot timer brought the guest up: %+v", v)
	}
	e.waitGuest(vm, 5*time.Second, "up", isUp)
	if d := time.Since(t0); d < 2400*time.Millisecond {
		t.Fatalf("guest up after %s, want guestinfo.lab.bootSeconds=2.5", d)
	}

	// The same for a ShutdownGuest overtaken by a power off and on: the VM stays on.
	if err := vm.ShutdownGuest(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.run(vm.PowerOff(e.ctx))
	e.run(vm.PowerOn(e.ctx))
	time.Sleep(600 * time.Millisecond)
	if v = e.guest(vm); v.power != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("a stale ShutdownGuest powered the VM off: %+v", v)
	}

	// guestinfo.lab.boot=never: powered on, the guest never comes up; ShutdownGuest: ToolsUnavailable.
	other := e.vm("DC0_H0_VM1")
	e.run(other.PowerOff(e.ctx))
	e.setExtraConfig(other, "guestinfo.lab.boot", "never")
	e.run(other.PowerOn(e.ctx))
	time.Sleep(800 * time.Millisecond)
	if v = e.guest(other); !isDown(v) {
		t.Fatalf("guestinfo.lab.boot=never: %+v", v)
	}
	if _, ok := faultOf(t, other.ShutdownGuest(e.ctx)).(types.ToolsUnavailable); !ok {
		t.Fatal("ShutdownGuest without a guest: want ToolsUnavailable")
	}
	// SET.* keys still work on top (as before the simulated guest).
	e.setExtraConfig(other, "SET.guestHeartbeatStatus", "green", "SET.guest.ipAddress", "10.9.9.9")
	if v = e.guest(other); !isUp(v) || v.ip != "10.9.9.9" {
		t.Fatalf("SET.* keys: %+v", v)
	}

	// PowerOnMultiVM_Task boots guests too.
	e.run(other.PowerOff(e.ctx))
	e.setExtraConfig(other, "guestinfo.lab.boot", "")
	e.run(vm.PowerOff(e.ctx))
	e.setExtraConfig(vm, "guestinfo.lab.bootSeconds", "")
	if _, err := e.dc.PowerOnVM(e.ctx, []types.ManagedObjectReference{vm.Reference(), other.Reference()}); err != nil {
		t.Fatal(err)
	}
	e.waitGuest(vm, 5*time.Second, "up after PowerOnMultiVM", isUp)
	e.waitGuest(other, 5*time.Second, "up after PowerOnMultiVM", isUp)

	inst.stop()
}

func TestEndToEndGuestOff(t *testing.T) {
	inst := start(t, "-guest=false", "-vm", "1")
	e := newGuestEnv(t, inst)
	vm := e.vm("DC0_H0_VM0")
	time.Sleep(1500 * time.Millisecond) // past the default boot delay
	if v := e.guest(vm); v.power != types.VirtualMachinePowerStatePoweredOn || v.heartbeat == types.ManagedEntityStatusGreen || v.ip != "" {
		t.Fatalf("-guest=false: %+v", v)
	}
	// vcsim's own ShutdownGuest: powered off at once.
	if err := vm.ShutdownGuest(e.ctx); err != nil {
		t.Fatal(err)
	}
	if v := e.guest(vm); v.power != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("-guest=false, ShutdownGuest: %+v", v)
	}
	inst.stop()
}

// TestEndToEndNewDiskFiles: CreateVM_Task with a new disk leaves a descriptor and a sparse flat
// file of the disk's capacity; a full PUT replaces the flat file; Destroy_Task removes the folder.
func TestEndToEndNewDiskFiles(t *testing.T) {
	inst := start(t, "-vm", "1")
	e := newGuestEnv(t, inst)
	ds, err := e.finder.Datastore(e.ctx, "LocalDS_0")
	if err != nil {
		t.Fatal(err)
	}
	var dsm mo.Datastore
	if err := ds.Properties(e.ctx, ds.Reference(), []string{"info"}, &dsm); err != nil {
		t.Fatal(err)
	}
	dsDir := dsm.Info.GetDatastoreInfo().Url
	folders, err := e.dc.Folders(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := e.finder.ResourcePool(e.ctx, "DC0_H0/Resources")
	if err != nil {
		t.Fatal(err)
	}

	for i, fileName := range []string{"[LocalDS_0]", "[LocalDS_0] newvm1/newvm1.vmdk"} {
		name := fmt.Sprintf("newvm%d", i)
		const capacityKB = 2048
		spec := types.VirtualMachineConfigSpec{
			Name:    name,
			GuestId: string(types.VirtualMachineGuestOsIdentifierOtherGuest),
			Files:   &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
			DeviceChange: []types.BaseVirtualDeviceConfigSpec{
				&types.VirtualDeviceConfigSpec{
					Operation: types.VirtualDeviceConfigSpecOperationAdd,
					Device:    &types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{SharedBus: types.VirtualSCSISharingNoSharing, VirtualController: types.VirtualController{BusNumber: 0, VirtualDevice: types.VirtualDevice{Key: -100}}}},
				},
				&types.VirtualDeviceConfigSpec{
					Operation:     types.VirtualDeviceConfigSpecOperationAdd,
					FileOperation: types.VirtualDeviceConfigSpecFileOperationCreate,
					Device: &types.VirtualDisk{
						VirtualDevice: types.VirtualDevice{
							Key:           -101,
							ControllerKey: -100,
							UnitNumber:    types.NewInt32(0),
							Backing: &types.VirtualDiskFlatVer2BackingInfo{
								DiskMode:                     string(types.VirtualDiskModePersistent),
								ThinProvisioned:              types.NewBool(true),
								VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: fileName},
							},
						},
						CapacityInKB: capacityKB,
					},
				},
			},
		}
		task, err := folders.VmFolder.CreateVM(e.ctx, spec, pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		info, err := task.WaitForResult(e.ctx, nil)
		if err != nil {
			t.Fatalf("CreateVM %s: %v", fileName, err)
		}
		vm := object.NewVirtualMachine(e.c.Client, info.Result.(types.ManagedObjectReference))
		devs, err := vm.Device(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		disk := devs.SelectByType((*types.VirtualDisk)(nil))[0].(*types.VirtualDisk)
		got := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).FileName
		t.Logf("new disk with backing fileName %q -> %q", fileName, got)
		var p object.DatastorePath
		if !p.FromString(got) || p.Datastore != "LocalDS_0" || !strings.HasPrefix(p.Path, name+"/") {
			t.Fatalf("new disk file %q not in the VM's folder %s/", got, name)
		}

		// Descriptor and sparse flat file of the capacity.
		desc := filepath.Join(dsDir, filepath.FromSlash(p.Path))
		flat := filepath.Join(dsDir, filepath.FromSlash(flatName(p.Path)))
		if b, err := ioutil.ReadFile(desc); err != nil || !bytes.Contains(b, []byte("# Disk DescriptorFile")) ||
			!bytes.Contains(b, []byte(filepath.Base(flat))) {
			t.Fatalf("descriptor %s: %v %q", desc, err, b)
		}
		if st, err := os.Stat(flat); err != nil || st.Size() != capacityKB*kib {
			t.Fatalf("flat file %s: %v, size %v", flat, err, st)
		}

		// Datastore HTTP: GET serves the whole (zero) disk; a full PUT replaces it.
		u := *inst.url
		u.Path = "/folder/" + flatName(p.Path)
		u.RawQuery = "dcPath=DC0&dsName=LocalDS_0"
		req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		res := (&env{t: t, ctx: e.ctx, c: e.c}).httpDo(req)
		body, _ := ioutil.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(body) != capacityKB*kib || !isZero(body) {
			t.Fatalf("GET %s: %d, %d bytes", u.Path, res.StatusCode, len(body))
		}
		content := make([]byte, capacityKB*kib)
		_, _ = rand.Read(content)
		req, _ = http.NewRequest(http.MethodPut, u.String(), bytes.NewReader(content))
		res = (&env{t: t, ctx: e.ctx, c: e.c}).httpDo(req)
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("PUT %s: %d", u.Path, res.StatusCode)
		}
		if b, err := ioutil.ReadFile(flat); err != nil || !bytes.Equal(b, content) {
			t.Fatalf("flat file after PUT: %v, %d bytes, same %v", err, len(b), bytes.Equal(b, content))
		}
		req, _ = http.NewRequest(http.MethodGet, u.String(), nil)
		res = (&env{t: t, ctx: e.ctx, c: e.c}).httpDo(req)
		body, _ = ioutil.ReadAll(res.Body)
		res.Body.Close()
		if !bytes.Equal(body, content) {
			t.Fatalf("GET after PUT: %d bytes, not the content put", len(body))
		}

		// Destroy_Task removes the VM's folder and every file in it, and nothing else.
		e.run(vm.Destroy(e.ctx))
		if _, err := os.Stat(filepath.Join(dsDir, name)); !os.IsNotExist(err) {
			left, _ := filepath.Glob(filepath.Join(dsDir, name, "*"))
			t.Fatalf("after Destroy: folder %s: %v, files left %v", name, err, left)
		}
		if _, err := os.Stat(filepath.Join(dsDir, "DC0_H0_VM0", "disk1-flat.vmdk")); err != nil {
			t.Fatalf("Destroy of %s removed another VM's files: %v", name, err)
		}
	}
	inst.stop()
}
