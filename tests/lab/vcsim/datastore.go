package main

// Lab-only datastore extension: PUT /folder/<path>?dcPath=..&dsName=.. WITH a
// "Content-Range: bytes START-END/*" header writes the body in place at START (like a guest
// writing its disk). vSphere has no such thing and the simulator's PUT truncates and replaces
// the whole file; PUT without Content-Range still goes to the simulator unchanged.

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/simulator"
)

const folderPrefix = "/folder/"

type datastoreHandler struct {
	next http.Handler
}

func newDatastoreHandler(next http.Handler) http.Handler {
	return &datastoreHandler{next: next}
}

func (h *datastoreHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cr := r.Header.Get("Content-Range")
	if r.Method != http.MethodPut || cr == "" || !strings.HasPrefix(r.URL.Path, folderPrefix) {
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
	w.WriteHeader(http.StatusNoContent)
}

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
