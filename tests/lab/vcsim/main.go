// drvcsim: the lab's vCenter simulator. It runs govmomi's simulator library (Debian's
// golang-github-vmware-govmomi-dev, 0.24.x) with a VPX inventory model and puts our extensions in
// front of its /sdk endpoint: changed block tracking (cbt.go, unless -cbt=false) and
// RetrievePropertiesEx result paging (paging.go, unless -paging=false), a simulated guest OS that
// boots after power on and shuts down on ShutdownGuest (guest.go, unless -guest=false; per VM
// extraConfig guestinfo.lab.boot=never, guestinfo.lab.bootSeconds=<seconds>, guestinfo.lab.ip=<ip>),
// and real disk files for VMs created or reconfigured with new disks (guest.go, always); ranged
// datastore PUTs (datastore.go, unless -ranged-put=false) and a lab fault that corrupts one PUT
// to a flat disk file (-corrupt-put N); a random about.instanceUuid per start (-instance-uuid).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("drvcsim: ")

	model := simulator.VPX()

	flag.IntVar(&model.Datacenter, "dc", model.Datacenter, "number of datacenters")
	flag.IntVar(&model.Cluster, "cluster", model.Cluster, "number of clusters per datacenter")
	flag.IntVar(&model.ClusterHost, "host", model.ClusterHost, "number of hosts per cluster")
	flag.IntVar(&model.Host, "standalone-host", model.Host, "number of standalone hosts per datacenter")
	flag.IntVar(&model.Machine, "vm", model.Machine, "number of VMs per cluster / standalone host resource pool")
	flag.IntVar(&model.Datastore, "ds", model.Datastore, "number of local datastores")
	flag.IntVar(&model.Portgroup, "pg", model.Portgroup, "number of distributed portgroups per datacenter")
	flag.IntVar(&model.Pool, "pool", model.Pool, "number of extra resource pools per cluster")
	flag.IntVar(&model.Folder, "folder", model.Folder, "number of datacenters placed in folders")
	autostart := flag.Bool("autostart", true, "power on the model's VMs")

	listen := flag.String("l", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	urlFile := flag.String("url-file", "", "write the SDK URL (without credentials) to this file once listening")
	useTLS := flag.Bool("tls", true, "serve https with the simulator's self-signed certificate (false: plain http)")
	username := flag.String("username", "", "only this user may log in (empty: any non-empty user/password)")
	password := flag.String("password", "", "password for -username")
	cbt := flag.Bool("cbt", true, "enable our CreateSnapshot/QueryChangedDiskAreas extension")
	paging := flag.Bool("paging", true, "page RetrievePropertiesEx results (maxObjects, token, Continue/CancelRetrievePropertiesEx) as vCenter does")
	pageSize := flag.Int("page-size", 0, "with -paging: at most this many objects per RetrievePropertiesEx page even if maxObjects is larger or unset (0: maxObjects only)")
	diskMB := flag.Int("disk-mb", 0, "capacity of each model VM disk in MiB (0: the model's 1 MiB)")
	blockSize := flag.Int64("cbt-block-size", 64*1024, "change tracking granularity in bytes")
	maxExtents := flag.Int("cbt-max-extents", 64, "at most this many changedArea extents per QueryChangedDiskAreas call")
	maxLength := flag.Int64("cbt-max-length", 0, "at most this many bytes of disk covered per QueryChangedDiskAreas call (0: no limit)")
	guest := flag.Bool("guest", true, "simulate guest OSes: heartbeat green and an IP after power on, ShutdownGuest/RebootGuest (false: vcsim's stock, guests never come up)")
	guestBoot := flag.Duration("guest-boot", time.Second, "with -guest: power on -> guest up delay (per VM: extraConfig guestinfo.lab.bootSeconds; guestinfo.lab.boot=never: never up)")
	guestIP := flag.String("guest-ip", "127.0.0.1", "with -guest: the guests' IP address (per VM: extraConfig guestinfo.lab.ip)")
	guestShutdown := flag.Duration("guest-shutdown", 500*time.Millisecond, "with -guest: ShutdownGuest -> powered off delay (also RebootGuest -> guest down)")
	dsFreeMB := flag.Int64("ds-free-mb", 0, "every datastore reports this much free space in MiB (0: the file system's), to test a recovery datastore that is too small")
	rangedPut := flag.Bool("ranged-put", true, "take datastore PUTs with Content-Range as writes in place (false: as vSphere, a PUT replaces the whole file)")
	corruptPut := flag.Int64("corrupt-put", 0, "lab fault: flip the first byte of the body of the Nth PUT to a *-flat.vmdk file (0: never)")
	instanceUUID := flag.String("instance-uuid", "", "the vCenter's about.instanceUuid (empty: a new random one per start, as each vCenter has its own)")
	trace := flag.Bool("trace", false, "write SOAP traffic to stderr")
	flag.Parse()

	if flag.NArg() != 0 {
		log.Fatalf("unexpected arguments: %v", flag.Args())
	}
	if (*username == "") != (*password == "") {
		log.Fatal("-username and -password go together")
	}
	if *blockSize <= 0 || *blockSize%512 != 0 {
		log.Fatal("-cbt-block-size must be a positive multiple of 512")
	}
	if *pageSize < 0 {
		log.Fatal("-page-size must not be negative")
	}
	if *maxExtents < 1 {
		log.Fatal("-cbt-max-extents must be at least 1")
	}
	if *guestBoot < 0 || *guestShutdown < 0 {
		log.Fatal("-guest-boot and -guest-shutdown must not be negative")
	}
	if net.ParseIP(*guestIP) == nil {
		log.Fatal("-guest-ip must be an IP address")
	}

	model.Autostart = *autostart
	simulator.Trace = *trace

	if err := model.Create(); err != nil {
		log.Fatalf("creating model: %s", err)
	}
	// Remove deletes the datastore temp dirs (under $TMPDIR) that Create made.
	defer model.Remove()

	// vcsim 0.24 gives every VPX instance the same about.instanceUuid: each of ours gets its own.
	if *instanceUUID == "" {
		*instanceUUID = uuid.New().String()
	}
	simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance).Content.About.InstanceUuid = *instanceUUID

	if err := prepareDisks(int64(*diskMB) << 20); err != nil {
		model.Remove()
		log.Fatalf("preparing disk files: %s", err)
	}
	if *dsFreeMB > 0 {
		limitFreeSpace(*dsFreeMB << 20)
	}
	var guests *guestSim
	if *guest {
		// After model.Create (it makes simulator.Map): follows power state, boots autostarted VMs now.
		guests = newGuestSim(guestOptions{Boot: *guestBoot, IP: *guestIP, Shutdown: *guestShutdown})
		guests.install()
	}

	listenURL := &url.URL{Host: *listen}
	if *username != "" {
		// A non-default Userinfo makes SessionManager.Login check name and password exactly.
		listenURL.User = url.UserPassword(*username, *password)
	}
	model.Service.Listen = listenURL
	if *useTLS {
		model.Service.TLS = new(tls.Config)
	}
	model.Service.RegisterEndpoints = true

	srv := model.Service.NewServer()

	// The simulator's mux is private to its server: wrap the server's handler before anyone knows the port.
	mux := srv.Config.Handler
	var handler = mux
	var cbtH *cbtHandler
	if *cbt {
		cbtH = newCBTHandler(handler, cbtOptions{BlockSize: *blockSize, MaxExtents: *maxExtents, MaxLength: *maxLength})
		handler = cbtH
	}
	defer startGuestWriterFromFlags(cbtH)() // guest writer (writer.go); stops before model.Remove
	if *paging {
		handler = newPagingHandler(handler, pagingOptions{PageSize: *pageSize})
	}
	if guests != nil {
		handler = guests.handler(handler)
	}
	handler = newVMFilesHandler(handler)
	handler = withUpdates(handler) // updates.go: -wait-for-updates
	handler = newDatastoreHandler(handler, datastoreOptions{RangedPut: *rangedPut, CorruptPut: *corruptPut})
	srv.Config.Handler = newDatastoreRateHandler(handler, *datastoreMiBps)

	sdk := *srv.URL
	sdk.User = nil
	if *urlFile != "" {
		if err := writeFileAtomic(*urlFile, sdk.String()+"\n"); err != nil {
			srv.Close()
			model.Remove()
			log.Fatalf("writing url file: %s", err)
		}
	}
	log.Printf("listening on %s (cbt=%v, paging=%v, guest=%v, tls=%v, ranged-put=%v, instance %s)", sdk.String(), *cbt, *paging, *guest, *useTLS, *rangedPut, *instanceUUID)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	log.Printf("%s: shutting down", s)

	srv.Close()
	if *urlFile != "" {
		_ = os.Remove(*urlFile)
	}
}

// writeFileAtomic writes via rename so a waiting script never reads a half-written URL.
func writeFileAtomic(name, content string) error {
	dir := filepath.Dir(name)
	f, err := ioutil.TempFile(dir, ".url-*")
	if err != nil {
		return err
	}
	if _, err = fmt.Fprint(f, content); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err = f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), name)
}
