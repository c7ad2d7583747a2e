package main

import (
	"bytes"
	"fmt"
	"io"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// rateTestServer serves dir under /folder/ (GET as the simulator does, PUT into dir) behind the rate limit.
func rateTestServer(t *testing.T, dir string, mibps float64) *httptest.Server {
	files := http.StripPrefix(folderPrefix, http.FileServer(http.Dir(dir)))
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut:
			f, err := os.Create(filepath.Join(dir, filepath.Base(r.URL.Path)))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer f.Close()
			if _, err := io.Copy(f, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		case r.URL.Path == "/sdk":
			_, _ = w.Write(bytes.Repeat([]byte("x"), 4<<20))
		default:
			files.ServeHTTP(w, r)
		}
	})
	srv := httptest.NewServer(newDatastoreRateHandler(inner, mibps))
	t.Cleanup(srv.Close)
	return srv
}

func getAll(url string, rangeHeader string) (int64, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusPartialContent {
		return 0, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return io.Copy(ioutil.Discard, res.Body)
}

// The rate holds in total over concurrent ranged GETs, and over a PUT; other paths are not paced.
func TestDatastoreRateLimit(t *testing.T) {
	const mibps = 16
	dir := t.TempDir()
	if err := ioutil.WriteFile(filepath.Join(dir, "disk-flat.vmdk"), bytes.Repeat([]byte{0xa5}, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := rateTestServer(t, dir, mibps)
	url := srv.URL + "/folder/disk-flat.vmdk"

	// Two connections, 4 MiB each (the two halves of the file): 8 MiB at 16 MiB/s in total is 0.5 s.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n, err := getAll(url, fmt.Sprintf("bytes=%d-%d", i*(4<<20), (i+1)*(4<<20)-1))
			if err == nil && n != 4<<20 {
				err = fmt.Errorf("got %d bytes, want %d", n, 4<<20)
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkRate(t, "two concurrent GETs", 8<<20, time.Since(start), mibps)

	start = time.Now()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/folder/put-flat.vmdk", bytes.NewReader(bytes.Repeat([]byte{1}, 4<<20)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %s", res.Status)
	}
	checkRate(t, "PUT", 4<<20, time.Since(start), mibps)
	if st, err := os.Stat(filepath.Join(dir, "put-flat.vmdk")); err != nil || st.Size() != 4<<20 {
		t.Fatalf("PUT wrote %v, %v; want 4 MiB", st, err)
	}

	// The SOAP endpoint is not the datastore: 4 MiB at far above the rate.
	start = time.Now()
	if n, err := getAll(srv.URL+"/sdk", ""); err != nil || n != 4<<20 {
		t.Fatalf("GET /sdk: %d bytes, %v", n, err)
	}
	if took := time.Since(start); took > 150*time.Millisecond {
		t.Errorf("GET /sdk took %s: paced like a datastore file (4 MiB at %d MiB/s would take 250 ms)", took, mibps)
	}
}

// checkRate fails when bytes went faster than mibps (less the burst) or far slower (a loaded machine gets 2x).
func checkRate(t *testing.T, what string, bytes int64, took time.Duration, mibps float64) {
	t.Helper()
	want := time.Duration(float64(bytes) / (mibps * (1 << 20)) * float64(time.Second))
	if took < want-rateBurst {
		t.Errorf("%s: %d bytes in %s, faster than %g MiB/s (at least %s)", what, bytes, took, mibps, want-rateBurst)
	}
	if took > 2*want {
		t.Errorf("%s: %d bytes in %s, far slower than %g MiB/s (%s)", what, bytes, took, mibps, want)
	}
	t.Logf("%s: %.1f MiB/s (limit %g)", what, float64(bytes)/(1<<20)/took.Seconds(), mibps)
}

// 0 leaves the handler as it is.
func TestDatastoreRateLimitOff(t *testing.T) {
	inner := http.NotFoundHandler()
	if h := newDatastoreRateHandler(inner, 0); fmt.Sprintf("%p", h) != fmt.Sprintf("%p", inner) {
		t.Fatalf("-datastore-mibps 0 wrapped the handler: %T", h)
	}
}
