package main

import (
	"bufio"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

type loggedWrite struct {
	at             time.Time
	vm             string
	offset, length int64
	key            int32
}

func readWriteLog(t *testing.T, name string) []loggedWrite {
	t.Helper()
	f, err := os.Open(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []loggedWrite
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) != 5 {
			t.Fatalf("write log line %q: want 5 fields", s.Text())
		}
		ms, err1 := strconv.ParseInt(fields[0], 10, 64)
		off, err2 := strconv.ParseInt(fields[2], 10, 64)
		n, err3 := strconv.ParseInt(fields[3], 10, 64)
		key, err4 := strconv.ParseInt(fields[4], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			t.Fatalf("write log line %q: not numbers", s.Text())
		}
		out = append(out, loggedWrite{time.Unix(0, ms*int64(time.Millisecond)), fields[1], off, n, int32(key)})
	}
	return out
}

func TestGuestDataLooksReal(t *testing.T) {
	b := make([]byte, 1<<20)
	fillGuestData(rand.New(rand.NewSource(1)), b)
	var zero, text, other int
	for off := 0; off < len(b); off += 4096 {
		p := b[off : off+4096]
		switch {
		case isZero(p):
			zero++
		case strings.Contains(string(p), "\n") && strings.IndexFunc(string(p), func(r rune) bool { return r != '\n' && (r < ' ' || r > '~') }) < 0:
			text++
		default:
			other++
		}
	}
	// 256 pages: about 1/4 zero, 1/3 text, the rest random.
	if zero < 40 || zero > 90 || text < 60 || text > 120 || other < 80 {
		t.Fatalf("pages: %d zero, %d text, %d other", zero, text, other)
	}
}

// The writer end to end: only powered-on VMs of the filter write, at about the rate asked, into
// their flat files, each write logged, and the next snapshot's changed areas cover the writes.
func TestGuestWriter(t *testing.T) {
	const diskMB = 8
	logFile := filepath.Join(t.TempDir(), "writes.log")
	// 300 % of 8 MiB per minute: 24 MiB/min, ~0.4 MiB/s per disk.
	inst := start(t, "-disk-mb", strconv.Itoa(diskMB), "-guest-write-percent", "300", "-guest-write-log", logFile, "-guest-write-vms", "DC0_H0_VM0,DC0_C0_RP0_VM1")
	ctx := context.Background()
	c, err := inst.login(ctx, "user", "pass")
	if err != nil {
		t.Fatal(err)
	}
	finder, _ := finderIn(t, ctx, c, true)
	vm0, err := finder.VirtualMachine(ctx, "DC0_H0_VM0")
	if err != nil {
		t.Fatal(err)
	}
	off, err := finder.VirtualMachine(ctx, "DC0_C0_RP0_VM1")
	if err != nil {
		t.Fatal(err)
	}
	task, err := off.PowerOff(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}

	e := &env{t: t, ctx: ctx, c: c, vm: vm0}
	devs, err := vm0.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	disk := devs.SelectByType((*types.VirtualDisk)(nil))[0].(*types.VirtualDisk)
	e.key, e.capacity = disk.Key, disk.CapacityInBytes
	var p object.DatastorePath
	p.FromString(disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).FileName)
	e.setTracking(true)
	s1 := e.snapshot("s1")
	id1 := e.changeID(s1)
	since := time.Now()

	time.Sleep(4 * time.Second)
	s2 := e.snapshot("s2")
	changed, _ := e.changed(s2, id1)
	inst.stop() // SIGTERM stops the writer cleanly too (exit status 0)

	writes := readWriteLog(t, logFile)
	var mine []loggedWrite
	var bytes int64
	for _, w := range writes {
		if w.vm != "DC0_H0_VM0" {
			// The other VM of the filter is powered off (the first tick may come before that), the rest are filtered out.
			if w.vm != "DC0_C0_RP0_VM1" || w.at.After(since) {
				t.Fatalf("write by %s at %s: only DC0_H0_VM0 is powered on and in the filter", w.vm, w.at)
			}
			continue
		}
		if w.key != e.key || w.length < 64<<10 || w.length > 1<<20 || w.offset%(64<<10) != 0 || w.offset+w.length > e.capacity {
			t.Fatalf("bad write %+v on a %d-byte disk %d", w, e.capacity, e.key)
		}
		if w.at.After(since) {
			mine = append(mine, w)
			bytes += w.length
		}
	}
	// ~4 s at 0.4 MiB/s, with the random head start: between 0.5 and 3.5 MiB.
	if bytes < 512<<10 || bytes > 3584<<10 {
		t.Fatalf("%d bytes written in ~4 s, want ~1.6 MiB (300 %% of 8 MiB per minute)", bytes)
	}

	// Each write up to s2 is in the changed areas between s1 and s2.
	covered := func(w loggedWrite) bool {
		for _, x := range changed {
			if x.Start <= w.offset && w.offset+w.length <= x.Start+x.Length {
				return true
			}
		}
		return false
	}
	n := 0
	for _, w := range mine {
		if w.at.Before(since.Add(3500 * time.Millisecond)) {
			n++
			if !covered(w) {
				t.Fatalf("write %+v is not in QueryChangedDiskAreas(s2, s1) = %v", w, changed)
			}
		}
	}
	if n == 0 {
		t.Fatal("no write to check against the changed areas")
	}
}
