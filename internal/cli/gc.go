package cli

import (
	"os"
	"runtime/debug"
)

// serveGCPercent is the garbage collector's target for the server when the
// operator has not chosen one. An event allocates a few hundred short-lived
// objects and the live heap is small (tens of MB), so Go's default of 100
// collects very often: at 2,000+ events/s the collector took ~10 % of the
// server's CPU, on the same cores as the single writer. 400 trades a larger
// heap (about five times the live data) for a quarter of the collections.
const serveGCPercent = 400

// tuneGC applies serveGCPercent unless GOGC is set: an explicit GOGC (or
// GOGC=off with GOMEMLIMIT) always wins.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(serveGCPercent)
}
