package main

// -guest-boot-jitter: real guests do not all boot in the same time. Each boot of a simulated guest
// (guest.go) takes its boot delay plus a random share of the jitter, and the lab logs the delay it
// drew ("guest <moref> (<name>): booting in <seconds> s"), so a benchmark can take each VM's own
// boot time out of what it measures.

import (
	"flag"
	"math/rand"
	"sync"
	"time"
)

var guestBootJitter = flag.Duration("guest-boot-jitter", 0, "with -guest: each boot takes a random extra 0..D on top of its boot delay (logged per VM), as real guests vary")

var jitterMu sync.Mutex
var jitterRand = rand.New(rand.NewSource(time.Now().UnixNano()))

// bootJitter is a random extra boot time in [0, -guest-boot-jitter).
func bootJitter() time.Duration {
	if *guestBootJitter <= 0 {
		return 0
	}
	jitterMu.Lock()
	defer jitterMu.Unlock()
	return time.Duration(jitterRand.Int63n(int64(*guestBootJitter)))
}
