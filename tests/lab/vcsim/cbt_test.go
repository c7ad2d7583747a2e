package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmware/govmomi/vim25/types"
)

func h(b byte) blockHash { return blockHash{b} }

func TestChangedAreasPaging(t *testing.T) {
	const bs = 64 * 1024
	// 10 blocks, last one partial (capacity 9.5 blocks); blocks 1,2,5,9 differ from base.
	capacity := int64(9*bs + bs/2)
	base := []blockHash{h(1), {}, h(2), h(3), {}, {}, {}, {}, {}, {}}
	cur := []blockHash{h(1), h(7), h(8), h(3), {}, h(9), {}, {}, {}, h(4)}

	cases := []struct {
		start      int64
		maxExt     int
		maxLen     int64
		wantLength int64
		want       string
	}{
		{0, 64, 0, capacity, fmt.Sprint([]types.DiskChangeExtent{{Start: bs, Length: 2 * bs}, {Start: 5 * bs, Length: bs}, {Start: 9 * bs, Length: bs / 2}})},
		{0, 1, 0, 5 * bs, fmt.Sprint([]types.DiskChangeExtent{{Start: bs, Length: 2 * bs}})},
		{5 * bs, 1, 0, 9*bs - 5*bs, fmt.Sprint([]types.DiskChangeExtent{{Start: 5 * bs, Length: bs}})},
		{bs + 100, 64, 2 * bs, 2 * bs, fmt.Sprint([]types.DiskChangeExtent{{Start: bs + 100, Length: 2*bs - 100}})},
		{6 * bs, 64, 0, capacity - 6*bs, fmt.Sprint([]types.DiskChangeExtent{{Start: 9 * bs, Length: bs / 2}})},
	}
	for _, c := range cases {
		info := changedAreas(cur, base, capacity, c.start, cbtOptions{BlockSize: bs, MaxExtents: c.maxExt, MaxLength: c.maxLen})
		if info.StartOffset != c.start || info.Length != c.wantLength || fmt.Sprint(info.ChangedArea) != c.want {
			t.Errorf("start %d maxExt %d maxLen %d: got start %d length %d %v, want length %d %s",
				c.start, c.maxExt, c.maxLen, info.StartOffset, info.Length, info.ChangedArea, c.wantLength, c.want)
		}
	}

	// "*" (nil base) lists the non-zero blocks.
	info := changedAreas(cur, nil, capacity, 0, cbtOptions{BlockSize: bs, MaxExtents: 64})
	if fmt.Sprint(info.ChangedArea) != fmt.Sprint([]types.DiskChangeExtent{{Start: 0, Length: 4 * bs}, {Start: 5 * bs, Length: bs}, {Start: 9 * bs, Length: bs / 2}}) {
		t.Errorf(`"*": %v`, info.ChangedArea)
	}
}

func TestReadBlocksSparse(t *testing.T) {
	const bs = 4096
	name := filepath.Join(t.TempDir(), "disk-flat.vmdk")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Truncate(100 * bs)
	_, _ = f.WriteAt([]byte("x"), 3*bs+7)
	_, _ = f.WriteAt(make([]byte, bs), 50*bs) // written zeros count as zero
	_, _ = f.WriteAt([]byte("y"), 99*bs)
	f.Close()

	blocks, err := readBlocks(name, 100*bs+bs, bs) // capacity past EOF reads as zero
	if err != nil {
		t.Fatal(err)
	}
	var nonZero []int
	for i, b := range blocks {
		if b != (blockHash{}) {
			nonZero = append(nonZero, i)
		}
	}
	if fmt.Sprint(nonZero) != "[3 99]" || len(blocks) != 101 {
		t.Fatalf("non-zero blocks %v of %d", nonZero, len(blocks))
	}

	missing, err := readBlocks(filepath.Join(t.TempDir(), "none"), 2*bs, bs)
	if err != nil || len(missing) != 2 || missing[0] != (blockHash{}) {
		t.Fatalf("missing file: %v %v", missing, err)
	}
}
