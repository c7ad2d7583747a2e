package main

// Lab-only datastore extension: PUT /folder/<path>?dcPath=..&dsName=.. WITH a
// "Content-Range: bytes START-END/*" header writes the body in place at START (like a guest
// writing its disk) and answers 204 with the same Content-Range (the confirmation clients look
// for). vSphere has no such thing and the simulator's PUT truncates and replaces the whole file;
// PUT without Content-Range still goes to the simulator unchanged, and with -ranged-put=false so
// does every PUT (200, the file replaced by the body: as vSphere does).
//
// Lab fault (-corrupt-put N): the Nth PUT to a "*-flat.vmdk" file (counted from 1, ranged or
// not) gets the first byte of its body flipped, so a client that never reads back what it wrote
// cannot notice.

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/vmware/govmomi/simulator"
)

const folderPrefix = "/folder/"

type datastoreOptions struct {
	RangedPut  bool  // take PUT with Content-Range as a write in place (false: as vSphere, the whole file is replaced)
	CorruptPut int64 // flip the first body byte of the Nth PUT to a flat disk file (0: never)
}

type datastoreHandler struct {
	next    http.Handler
	opts    datastoreOptions
	flatPut int64 // PUTs to flat disk files so far
}

func newDatastoreHandler(next http.Handler, opts datastoreOptions) http.Handler {
	return &datastoreHandler{next: next, opts: opts}
}

func (h *datastoreHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, folderPrefix) && strings.HasSuffix(r.URL.Path, "-flat.vmdk") {
		if n := atomic.AddInt64(&h.flatPut, 1); n == h.opts.CorruptPut {
			log.Printf("lab fault: flipping the first byte of PUT #%d to %s", n, r.URL.Path)
			r.Body = &flipFirstByte{r: bufio.NewReader(r.Body), c: r.Body}
		}
	}
	cr := r.Header.Get("Content-Range")
	if r.Method != http.MethodPut || cr == "" || !h.opts.RangedPut || !strings.HasPrefix(r.URL.Path, folderPrefix) {
		h.next.ServeHTTP(w, r)
		return
	}
	var first, last int64
	var total string
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%s", &first, &last, &total); err != nil || first < 0 || last < first {
		http.Error(w, "bad Content-Range, want: bytes START-END/*", http.StatusBadRequest)
		return
	}
	if r.ContentLength >= 0 && r.ContentLength != last-first+1 {
		http.Error(w, "Content-Range length differs from the body's", http.StatusBadRequest)
		return
	}
	dir, err := findDatastoreDir(r.URL.Query().Get("dcPath"), r.URL.Query().Get("dsName"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	rel := path.Clean("/" + strings.TrimPrefix(r.URL.Path, folderPrefix))
	file := filepath.Join(dir, filepath.FromSlash(rel))
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound) // ranged writes only go to existing files
		return
	}
	defer f.Close()
	n, err := io.Copy(&offsetWriter{f: f, off: first}, io.LimitReader(r.Body, last-first+1))
	if err == nil && n != last-first+1 {
		err = fmt.Errorf("short body: %d of %d bytes", n, last-first+1)
	}
	if err != nil {
		log.Printf("ranged PUT %s: %s", file, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", first, last))
	w.WriteHeader(http.StatusNoContent)
}

// flipFirstByte passes a request body through with its first byte inverted (the -corrupt-put fault).
type flipFirstByte struct {
	r       *bufio.Reader
	c       io.Closer
	flipped bool
}

func (f *flipFirstByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && !f.flipped {
		p[0] ^= 0xff
		f.flipped = true
	}
	return n, err
}

func (f *flipFirstByte) Close() error { return f.c.Close() }

// findDatastoreDir resolves dcPath (default: the only/first datacenter) and dsName to a local dir.
func findDatastoreDir(dcPath, dsName string) (string, error) {
	for _, e := range simulator.Map.All("Datacenter") {
		dc := e.(*simulator.Datacenter)
		if dcPath != "" && dc.Name != path.Base(dcPath) {
			continue
		}
		for _, ref := range dc.Datastore {
			if ds, ok := simulator.Map.Get(ref).(*simulator.Datastore); ok && ds.Name == dsName {
				return ds.Info.GetDatastoreInfo().Url, nil
			}
		}
	}
	return "", fmt.Errorf("datastore %q not found in datacenter %q", dsName, dcPath)
}

// offsetWriter writes sequentially from off (io.NewOffsetWriter is Go 1.20; Debian 12 has 1.19).
type offsetWriter struct {
	f   *os.File
	off int64
}

func (o *offsetWriter) Write(p []byte) (int, error) {
	n, err := o.f.WriteAt(p, o.off)
	o.off += int64(n)
	return n, err
}

// limitFreeSpace makes every datastore report free bytes of free space (-ds-free-mb): the
// simulator reports its temp dir's file system otherwise, which is never too small for a test.
func limitFreeSpace(free int64) {
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		ds.Summary.FreeSpace = free
		ds.Info.GetDatastoreInfo().FreeSpace = free
	}
}
