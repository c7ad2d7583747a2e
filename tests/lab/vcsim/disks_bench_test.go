package main

// go test -run XXX -bench ReadBlocks . : how fast CreateSnapshot hashes a disk (256 MiB of random data).

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkReadBlocks(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "disk-flat.vmdk")
	f, _ := os.Create(p)
	buf := make([]byte, 1<<20)
	for i := 0; i < 256; i++ {
		rand.Read(buf)
		f.Write(buf)
	}
	f.Close()
	b.SetBytes(256 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := readBlocks(p, 256<<20, 64*1024); err != nil {
			b.Fatal(err)
		}
	}
}
