package main

import (
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func withExtraConfig(kv ...string) *simulator.VirtualMachine {
	vm := &simulator.VirtualMachine{}
	vm.Self = types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-test"}
	vm.Config = &types.VirtualMachineConfigInfo{}
	for i := 0; i < len(kv); i += 2 {
		vm.Config.ExtraConfig = append(vm.Config.ExtraConfig, &types.OptionValue{Key: kv[i], Value: kv[i+1]})
	}
	return vm
}

func TestGuestSettings(t *testing.T) {
	g := newGuestSim(guestOptions{Boot: time.Second, IP: "127.0.0.1"})
	cases := []struct {
		kv    []string
		delay time.Duration
		never bool
		ip    string
	}{
		{nil, time.Second, false, "127.0.0.1"},
		{[]string{keyBootSeconds, "0.25"}, 250 * time.Millisecond, false, "127.0.0.1"},
		{[]string{keyBootSeconds, "3"}, 3 * time.Second, false, "127.0.0.1"},
		{[]string{keyBootSeconds, "soon"}, time.Second, false, "127.0.0.1"},
		{[]string{keyBootSeconds, "-1"}, time.Second, false, "127.0.0.1"},
		{[]string{keyBoot, "never"}, 0, true, "127.0.0.1"},
		{[]string{keyBoot, "NEVER"}, 0, true, "127.0.0.1"},
		{[]string{keyIP, "10.0.0.7"}, time.Second, false, "10.0.0.7"},
		{[]string{keyIP, "not-an-ip"}, time.Second, false, "127.0.0.1"},
		// vcsim appends reconfigured keys: the last wins, and "" removes the setting.
		{[]string{keyBootSeconds, "2", keyBootSeconds, "0.5"}, 500 * time.Millisecond, false, "127.0.0.1"},
		{[]string{keyBoot, "never", keyBoot, ""}, time.Second, false, "127.0.0.1"},
	}
	for _, c := range cases {
		vm := withExtraConfig(c.kv...)
		delay, never := g.bootDelay(vm)
		if delay != c.delay || never != c.never || g.guestIP(vm) != c.ip {
			t.Errorf("%v: delay %s never %v ip %s, want %s %v %s", c.kv, delay, never, g.guestIP(vm), c.delay, c.never, c.ip)
		}
	}
}

// TestGuestFollowsPowerState drives the Map handler the way the simulator's power methods do
// (Map.Update of runtime.powerState with the VM locked), in process.
func TestGuestFollowsPowerState(t *testing.T) {
	model := simulator.VPX()
	model.Machine = 1
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	defer model.Remove()
	g := newGuestSim(guestOptions{Boot: 200 * time.Millisecond, IP: "127.0.0.2"})
	g.install()
	defer simulator.Map.RemoveHandler(g)

	vm := simulator.Map.Any("VirtualMachine").(*simulator.VirtualMachine)
	heartbeat := func() (s types.ManagedEntityStatus, ip string) {
		simulator.Map.WithLock(vm, func() { s, ip = vm.GuestHeartbeatStatus, vm.Guest.IpAddress })
		return
	}
	power := func(state types.VirtualMachinePowerState) {
		simulator.Map.WithLock(vm, func() {
			simulator.Map.Update(vm, []types.PropertyChange{{Name: "runtime.powerState", Val: state}})
		})
	}

	if s, ip := heartbeat(); s != types.ManagedEntityStatusGreen || ip != "127.0.0.2" || !g.running(vm.Self) {
		t.Fatalf("autostart VM after install: %s %q", s, ip)
	}
	power(types.VirtualMachinePowerStatePoweredOff)
	if s, ip := heartbeat(); s != types.ManagedEntityStatusGray || ip != "" || g.running(vm.Self) {
		t.Fatalf("after power off: %s %q", s, ip)
	}
	// On, off, on within the boot delay: only the last power on's timer may bring the guest up.
	power(types.VirtualMachinePowerStatePoweredOn)
	power(types.VirtualMachinePowerStatePoweredOff)
	time.Sleep(100 * time.Millisecond)
	power(types.VirtualMachinePowerStatePoweredOn)
	time.Sleep(150 * time.Millisecond) // first timer fired at 200 ms, the second fires at 300 ms
	if s, _ := heartbeat(); s != types.ManagedEntityStatusGray {
		t.Fatalf("a stale boot timer brought the guest up: %s", s)
	}
	time.Sleep(250 * time.Millisecond)
	if s, ip := heartbeat(); s != types.ManagedEntityStatusGreen || ip != "127.0.0.2" {
		t.Fatalf("after the boot delay: %s %q", s, ip)
	}
	// Suspend takes the guest down too.
	power(types.VirtualMachinePowerStateSuspended)
	if s, _ := heartbeat(); s != types.ManagedEntityStatusGray {
		t.Fatalf("after suspend: %s", s)
	}
}
