package main

// -guest-boot-jitter: each boot draws its own extra time within the jitter and the lab logs it.

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestEndToEndBootJitterIsLoggedPerBoot(t *testing.T) {
	inst := start(t, "-vm", "1", "-guest-boot", "100ms", "-guest-boot-jitter", "300ms")
	e := newGuestEnv(t, inst)
	vm := e.vm("DC0_H0_VM0")
	for i := 0; i < 3; i++ {
		e.run(vm.PowerOff(e.ctx))
		e.run(vm.PowerOn(e.ctx))
		e.waitGuest(vm, 5*time.Second, "up", isUp)
	}
	inst.stop()

	boots := regexp.MustCompile(`guest \S+ \(DC0_H0_VM0\): booting in ([0-9.]+) s`).FindAllStringSubmatch(inst.log.String(), -1)
	if len(boots) != 3 {
		t.Fatalf("want 3 logged boots, got %d:\n%s", len(boots), inst.log)
	}
	for _, b := range boots {
		s, err := strconv.ParseFloat(b[1], 64)
		if err != nil || s < 0.1 || s >= 0.4 {
			t.Fatalf("logged boot %q: want 0.1 s + 0..0.3 s", b[1])
		}
	}
}
