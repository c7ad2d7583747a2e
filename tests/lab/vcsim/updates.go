package main

// -wait-for-updates=false: the lab plays a server without the PropertyCollector's update calls
// (WaitForUpdatesEx, and the older WaitForUpdates and CheckForUpdates), so a client's fallback to
// polling can be tested. Each of them faults MethodNotFound, as a vim25 server answers a method
// it does not have. Everything else (RetrievePropertiesEx, CreateFilter, ...) works as before.
//
// With the default (true) the simulator's own WaitForUpdatesEx answers; guest.go publishes the
// guest's properties through simulator.Map.Update, so collectors waiting for them see the
// changes (the simulator gathers changes every 250 ms before it answers).

import (
	"bytes"
	"flag"
	"net/http"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

var waitForUpdates = flag.Bool("wait-for-updates", true, "serve the PropertyCollector's WaitForUpdatesEx/WaitForUpdates/CheckForUpdates (false: fault MethodNotFound, like a server without them, to test a client's polling fallback)")

// updateMethods are the calls a server without property updates does not have.
var updateMethods = []string{"WaitForUpdatesEx", "WaitForUpdates", "CheckForUpdates"}

type noUpdatesHandler struct {
	next http.Handler
}

// withUpdates returns next as is with -wait-for-updates, else next behind a handler that faults the update calls.
func withUpdates(next http.Handler) http.Handler {
	if *waitForUpdates {
		return next
	}
	return &noUpdatesHandler{next: next}
}

func (h *noUpdatesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readSDKRequest(w, r, h.next)
	if !ok {
		return
	}
	if bytes.Contains(body, []byte("ForUpdates")) {
		if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil && isUpdateMethod(m.Name) {
			writeFault(w, "Method "+m.Name+" not found on this server (drvcsim -wait-for-updates=false).",
				&types.MethodNotFound{Receiver: m.This, Method: m.Name})
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

func isUpdateMethod(name string) bool {
	for _, m := range updateMethods {
		if m == name {
			return true
		}
	}
	return false
}
