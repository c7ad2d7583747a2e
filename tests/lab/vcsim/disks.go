package main

// Disk files: govmomi 0.24's simulator creates, for a disk backed by "[ds] vm/disk1.vmdk", two
// EMPTY files in the datastore's local directory: vm/disk1.vmdk and vm/disk1-flat.vmdk.
// We keep vSphere's layout: disk1.vmdk becomes a text descriptor and disk1-flat.vmdk holds the
// raw disk bytes, extended (sparse) to the disk's capacity, so the datastore HTTP interface
// (/folder/vm/disk1-flat.vmdk?dcPath=..&dsName=..) serves real content and Range reads work.

import (
	"bytes"
	byteorder "encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/ioutil"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// diskInfo is what we need of one virtual disk, copied out under the VM's lock.
type diskInfo struct {
	Key       int32
	FileName  string // datastore path of the descriptor, "[LocalDS_0] VM/disk1.vmdk"
	FlatPath  string // local path of the data file
	Capacity  int64
	Backing   *types.VirtualDiskFlatVer2BackingInfo
	Datastore *types.ManagedObjectReference
}

// flatName maps a descriptor name to vSphere's flat extent name (disk1.vmdk -> disk1-flat.vmdk).
func flatName(name string) string {
	if strings.HasSuffix(name, ".vmdk") {
		return strings.TrimSuffix(name, ".vmdk") + "-flat.vmdk"
	}
	return name + "-flat.vmdk"
}

func diskCapacity(d *types.VirtualDisk) int64 {
	if d.CapacityInBytes != 0 {
		return d.CapacityInBytes
	}
	return d.CapacityInKB * 1024
}

// datastoreDir finds the local directory behind a datastore name as seen from this VM.
func datastoreDir(vm *simulator.VirtualMachine, dsName string, hint *types.ManagedObjectReference) (string, error) {
	var refs []types.ManagedObjectReference
	if hint != nil {
		refs = append(refs, *hint)
	}
	refs = append(refs, vm.Datastore...)
	for _, ref := range refs {
		ds, ok := simulator.Map.Get(ref).(*simulator.Datastore)
		if ok && ds.Name == dsName {
			return ds.Info.GetDatastoreInfo().Url, nil
		}
	}
	return "", fmt.Errorf("datastore %q not found for %s", dsName, vm.Self.Value)
}

// vmDisks lists the VM's flat-backed virtual disks; call it with the VM locked.
func vmDisks(vm *simulator.VirtualMachine) ([]diskInfo, error) {
	if vm.Config == nil {
		return nil, nil
	}
	var out []diskInfo
	for _, dev := range vm.Config.Hardware.Device {
		disk, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue // other backings (RDM, sparse) are not used by the model
		}
		var p object.DatastorePath
		if !p.FromString(b.FileName) {
			return nil, fmt.Errorf("bad disk file name %q", b.FileName)
		}
		dir, err := datastoreDir(vm, p.Datastore, b.Datastore)
		if err != nil {
			return nil, err
		}
		out = append(out, diskInfo{
			Key:       disk.Key,
			FileName:  b.FileName,
			FlatPath:  filepath.Join(dir, filepath.FromSlash(flatName(p.Path))),
			Capacity:  diskCapacity(disk),
			Backing:   b,
			Datastore: b.Datastore,
		})
	}
	return out, nil
}

// ensureDiskFiles gives each disk a descriptor and a flat file at least as long as the disk.
func ensureDiskFiles(disks []diskInfo) error {
	for _, d := range disks {
		if err := os.MkdirAll(filepath.Dir(d.FlatPath), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(d.FlatPath, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err == nil && st.Size() < d.Capacity {
			err = f.Truncate(d.Capacity) // sparse: costs no space
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		desc := strings.TrimSuffix(d.FlatPath, "-flat.vmdk") + ".vmdk"
		if st, err := os.Stat(desc); err != nil || st.Size() == 0 {
			if err := ioutil.WriteFile(desc, []byte(descriptor(d)), 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// descriptor is a minimal monolithic-flat VMDK descriptor, as vSphere writes beside a -flat.vmdk.
func descriptor(d diskInfo) string {
	return fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fffffffe
parentCID=ffffffff
createType="vmfs"

# Extent description
RW %d VMFS "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.virtualHWVersion = "13"
`, (d.Capacity+511)/512, filepath.Base(d.FlatPath))
}

// prepareDisks resizes the model's disks (when capacity > 0) and creates their files.
func prepareDisks(capacity int64) error {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		var disks []diskInfo
		var err error
		simulator.Map.WithLock(vm, func() {
			numberDisksAsVSphere(vm.Config.Hardware.Device)
			if capacity > 0 {
				for _, dev := range vm.Config.Hardware.Device {
					if disk, ok := dev.(*types.VirtualDisk); ok {
						disk.CapacityInKB = capacity / 1024
						disk.CapacityInBytes = capacity
					}
				}
			}
			disks, err = vmDisks(vm)
		})
		if err != nil {
			return err
		}
		if err := ensureDiskFiles(disks); err != nil {
			return err
		}
	}
	return nil
}

// numberDisksAsVSphere gives the disks device keys 2000, 2001, ... as vSphere does on the first
// SCSI controller (the simulator's model numbers them at random): on real vSphere most VMs'
// first disk is 2000, and nothing may confuse two VMs' disks because of it.
func numberDisksAsVSphere(devices []types.BaseVirtualDevice) {
	used := make(map[int32]bool, len(devices))
	for _, dev := range devices {
		used[dev.GetVirtualDevice().Key] = true
	}
	next := int32(2000)
	for _, dev := range devices {
		if disk, ok := dev.(*types.VirtualDisk); ok {
			for used[next] && next != disk.Key {
				next++
			}
			delete(used, disk.Key)
			disk.Key = next
			used[next] = true
			next++
		}
	}
}

// blockHash identifies one block's content; the zero value means "all zero bytes".
type blockHash [16]byte

// Block hashes only ever meet hashes of the same process (CreateSnapshot against the snapshot
// before it), so a per-process seeded hash will do: two 64-bit maphash sums (AES-based, several
// GB/s) instead of SHA-256 (~400 MB/s here), which made every snapshot of a 2 GiB disk take 5 s.
var blockSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func hashBlock(b []byte) blockHash {
	var out blockHash
	var h maphash.Hash
	for i, seed := range blockSeeds {
		h.SetSeed(seed)
		h.Write(b)
		byteorder.LittleEndian.PutUint64(out[i*8:], h.Sum64())
	}
	return out
}

// readBlocks hashes the first capacity bytes of path in blockSize blocks; bytes past EOF read as zero.
func readBlocks(path string, capacity, blockSize int64) ([]blockHash, error) {
	n := (capacity + blockSize - 1) / blockSize
	out := make([]blockHash, n)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()

	buf := make([]byte, blockSize)
	for i := int64(0); i < n; i++ {
		off := i * blockSize
		want := blockSize
		if off+want > capacity {
			want = capacity - off
		}
		// Skip holes quickly: SEEK_DATA past off means [off, data) is unallocated.
		if data, err := f.Seek(off, seekData); err == nil && data >= off+want {
			if skip := (data - off) / blockSize; skip > 0 {
				i += skip - 1
			}
			continue
		} else if err != nil && isNoData(err) {
			break // no data after off: the rest is zero
		}
		m, err := f.ReadAt(buf[:want], off)
		if err != nil && err != io.EOF {
			return nil, err
		}
		for j := m; j < int(want); j++ {
			buf[j] = 0
		}
		if !isZero(buf[:want]) {
			out[i] = hashBlock(buf[:want])
			if out[i] == (blockHash{}) {
				out[i][0] = 1 // keep "zero hash" meaning "zero block"
			}
		}
	}
	return out, nil
}

var zeroPage = make([]byte, 64*1024)

func isZero(b []byte) bool {
	for len(b) > 0 {
		n := len(b)
		if n > len(zeroPage) {
			n = len(zeroPage)
		}
		if !bytes.Equal(b[:n], zeroPage[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// seekData is Linux's SEEK_DATA; with it snapshots of big sparse disks only read written parts.
const seekData = 3

// isNoData reports SEEK_DATA's "no data after this offset" (ENXIO).
func isNoData(err error) bool {
	return errors.Is(err, syscall.ENXIO)
}
