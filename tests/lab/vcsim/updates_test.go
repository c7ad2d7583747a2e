package main

// End-to-end checks of updates.go: a collector waiting with WaitForUpdatesEx sees the simulated
// guest's heartbeat turn green after a power on; -wait-for-updates=false faults MethodNotFound.

import (
	"testing"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

func TestEndToEndWaitForUpdatesSeesGuest(t *testing.T) {
	inst := start(t, "-vm", "1", "-guest-boot", "400ms")
	e := newGuestEnv(t, inst)
	vm := e.vm("DC0_H0_VM0")
	e.run(vm.PowerOff(e.ctx))
	e.waitGuest(vm, 5*time.Second, "down", isDown)

	pc := property.DefaultCollector(e.c.Client)
	filter := new(property.WaitFilter).Add(vm.Reference(), "VirtualMachine", []string{"guestHeartbeatStatus", "guest.ipAddress", "runtime.powerState"})
	filter.Options = &types.WaitOptions{MaxWaitSeconds: types.NewInt32(1)}
	e.run(vm.PowerOn(e.ctx))
	poweredOn := time.Now()
	var ip string
	err := property.WaitForUpdates(e.ctx, pc, filter, func(updates []types.ObjectUpdate) bool {
		green := false
		for _, u := range updates {
			for _, c := range u.ChangeSet {
				switch c.Name {
				case "guestHeartbeatStatus":
					green = c.Val == types.ManagedEntityStatusGreen
				case "guest.ipAddress":
					ip, _ = c.Val.(string)
				}
			}
		}
		return green
	})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(poweredOn)
	// Boot 400 ms, the simulator gathers changes every 250 ms: well within 5 s, never before the boot.
	if took < 350*time.Millisecond || took > 5*time.Second {
		t.Fatalf("green heartbeat seen %s after power on (boot 400ms)", took)
	}
	if ip != "127.0.0.1" {
		t.Fatalf("guest.ipAddress in the update: %q, want 127.0.0.1", ip)
	}
	inst.stop()
}

func TestEndToEndWithoutWaitForUpdates(t *testing.T) {
	inst := start(t, "-vm", "1", "-wait-for-updates=false")
	e := newGuestEnv(t, inst)
	pc := e.c.Client.ServiceContent.PropertyCollector
	_, err := methods.WaitForUpdatesEx(e.ctx, e.c.Client, &types.WaitForUpdatesEx{This: pc, Options: &types.WaitOptions{MaxWaitSeconds: types.NewInt32(0)}})
	if f, ok := faultOf(t, err).(types.MethodNotFound); !ok || f.Method != "WaitForUpdatesEx" {
		t.Fatalf("WaitForUpdatesEx with -wait-for-updates=false: %#v, want MethodNotFound", faultOf(t, err))
	}
	// The rest of the collector still answers.
	if e.guest(e.vm("DC0_H0_VM0")).power != types.VirtualMachinePowerStatePoweredOn {
		t.Fatal("the model's VM is not powered on")
	}
	inst.stop()
}
