package main

// A guest writer: with -guest-write-percent P, every powered-on VM (whose name starts with one of
// -guest-write-vms, if given) writes P % of each of its disks per minute into the disk's
// -flat.vmdk, as random extents of 64 KiB-1 MiB (64 KiB aligned) of realistic content: zero
// pages, log-like text and incompressible data. Each write is one line of -guest-write-log,
// "unixms vmName offset length diskKey", written (and so flushed) per line with the time the write
// was complete, so a benchmark can read the guests' history live.
//
// Change tracking (cbt.go) hashes a disk's blocks when a snapshot is taken, so a write that
// reaches the flat file is in the next QueryChangedDiskAreas by itself. The writer takes the CBT
// handler's lock for each write, so a write is either wholly before a snapshot (in its hashes,
// with a logged time before the snapshot's end) or wholly after it, never half in.

import (
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	guestWritePercent = flag.Float64("guest-write-percent", 0, "guest writer: each powered-on VM writes this share (in %) of each of its disks per minute, 64 KiB-1 MiB extents of realistic content (0: off)")
	guestWriteLog     = flag.String("guest-write-log", "", "guest writer: append one line per write to this file, \"unixms vmName offset length diskKey\"")
	guestWriteVMs     = flag.String("guest-write-vms", "", "guest writer: only VMs whose name starts with one of these comma-separated prefixes (empty: every VM)")
)

const (
	writeAlign    = 64 << 10
	writeMinBytes = 64 << 10
	writeMaxBytes = 1 << 20
	writeTick     = 100 * time.Millisecond
)

type writerOptions struct {
	Percent  float64     // share of each disk per minute
	Prefixes []string    // VM name prefixes; empty: all
	Log      string      // write log file; empty: none
	Lock     sync.Locker // held for each write (the CBT handler's); nil: none
	Seed     int64
}

// startGuestWriterFromFlags starts the writer the flags ask for (none when -guest-write-percent is 0)
// and returns the function that stops it.
func startGuestWriterFromFlags(cbt *cbtHandler) func() {
	if *guestWritePercent < 0 || *guestWritePercent > 6000 {
		log.Fatal("-guest-write-percent must be between 0 and 6000")
	}
	if *guestWritePercent == 0 {
		return func() {}
	}
	opt := writerOptions{Percent: *guestWritePercent, Log: *guestWriteLog, Seed: time.Now().UnixNano()}
	for _, p := range strings.Split(*guestWriteVMs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			opt.Prefixes = append(opt.Prefixes, p)
		}
	}
	if cbt != nil {
		opt.Lock = &cbt.mu
	}
	stop, err := startGuestWriter(opt)
	if err != nil {
		log.Fatalf("guest writer: %s", err)
	}
	log.Printf("guest writer: %.3g %% of each disk per minute, VMs %q, log %q", opt.Percent, *guestWriteVMs, opt.Log)
	return stop
}

// diskWriter is the state of one disk's writes: the bytes it owes (its share accrues every tick)
// and the size of its next extent.
type diskWriter struct {
	owed float64
	next int64
}

type guestWriter struct {
	opt   writerOptions
	rnd   *rand.Rand
	log   *os.File
	disks map[string]*diskWriter // "vm/key"
	buf   []byte
}

func startGuestWriter(opt writerOptions) (stop func(), err error) {
	w := &guestWriter{opt: opt, rnd: rand.New(rand.NewSource(opt.Seed)), disks: make(map[string]*diskWriter), buf: make([]byte, writeMaxBytes)}
	if opt.Log != "" {
		if w.log, err = os.OpenFile(opt.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
			return nil, err
		}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(writeTick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				w.round(now.Sub(last))
				last = now
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		if w.log != nil {
			_ = w.log.Close()
		}
	}, nil
}

func (w *guestWriter) wanted(name string) bool {
	if len(w.opt.Prefixes) == 0 {
		return true
	}
	for _, p := range w.opt.Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// round gives every writing disk its share of elapsed and writes the extents it owes.
func (w *guestWriter) round(elapsed time.Duration) {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		var name string
		var on bool
		var disks []diskInfo
		var err error
		simulator.Map.WithLock(vm, func() {
			name = vm.Name
			on = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
			if on && w.wanted(name) {
				disks, err = vmDisks(vm)
			}
		})
		if !on || !w.wanted(name) {
			continue
		}
		if err != nil {
			log.Printf("guest writer: %s: %s", name, err)
			continue
		}
		for _, d := range disks {
			if d.Capacity < writeMinBytes {
				continue
			}
			id := fmt.Sprintf("%s/%d", vm.Self.Value, d.Key)
			dw := w.disks[id]
			if dw == nil {
				// A random head start, so the disks do not all write in the same tick.
				dw = &diskWriter{next: w.extentSize(d.Capacity)}
				dw.owed = w.rnd.Float64() * float64(dw.next)
				w.disks[id] = dw
			}
			dw.owed += float64(d.Capacity) * w.opt.Percent / 100 * elapsed.Minutes()
			for dw.owed >= float64(dw.next) {
				if err := w.write(name, d, dw.next); err != nil {
					log.Printf("guest writer: %s disk %d: %s", name, d.Key, err)
					dw.owed = 0
					break
				}
				dw.owed -= float64(dw.next)
				dw.next = w.extentSize(d.Capacity)
			}
		}
	}
}

// extentSize is a random 64 KiB multiple in [64 KiB, 1 MiB], at most the disk.
func (w *guestWriter) extentSize(capacity int64) int64 {
	n := int64(writeMinBytes + w.rnd.Intn((writeMaxBytes-writeMinBytes)/writeAlign+1)*writeAlign)
	if max := capacity / writeAlign * writeAlign; n > max {
		n = max
	}
	return n
}

func (w *guestWriter) write(vmName string, d diskInfo, length int64) error {
	slots := (d.Capacity-length)/writeAlign + 1
	offset := w.rnd.Int63n(slots) * writeAlign
	data := w.buf[:length]
	fillGuestData(w.rnd, data)

	if w.opt.Lock != nil {
		w.opt.Lock.Lock()
	}
	f, err := os.OpenFile(d.FlatPath, os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteAt(data, offset)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	done := time.Now()
	if w.opt.Lock != nil {
		w.opt.Lock.Unlock()
	}
	if err != nil {
		return err
	}
	if w.log != nil {
		if _, err := fmt.Fprintf(w.log, "%d %s %d %d %d\n", done.UnixNano()/int64(time.Millisecond), vmName, offset, length, d.Key); err != nil {
			return err
		}
	}
	return nil
}

var logWords = []string{"INFO", "WARN", "request", "completed", "user", "session", "GET", "/api/orders", "200", "latency_ms", "db", "commit", "txn", "cache", "miss", "hit"}

// fillGuestData fills b page by page (4 KiB) as a guest's writes look: a quarter zero pages (freed or
// preallocated blocks), a third log-like text (compresses well), the rest incompressible (media,
// encrypted or compressed files).
func fillGuestData(r *rand.Rand, b []byte) {
	const page = 4096
	for off := 0; off < len(b); off += page {
		p := b[off:]
		if len(p) > page {
			p = p[:page]
		}
		switch k := r.Intn(12); {
		case k < 3:
			for i := range p {
				p[i] = 0
			}
		case k < 7:
			n := 0
			for n < len(p) {
				line := fmt.Sprintf("%d %s %s %s=%d\n", 1700000000000+r.Int63n(1e9), logWords[r.Intn(len(logWords))],
					logWords[r.Intn(len(logWords))], logWords[r.Intn(len(logWords))], r.Intn(100000))
				n += copy(p[n:], line)
			}
		default:
			_, _ = r.Read(p)
		}
	}
}
