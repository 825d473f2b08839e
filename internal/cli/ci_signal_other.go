//go:build !unix

package cli

import (
	"io"
	"os"
	"os/exec"
	"os/signal"
)

// Without Unix signals, Ctrl-C (os.Interrupt) reaches every process on the
// console: run notes it and lets the command handle it.
func notifySignals(c chan<- os.Signal) { signal.Notify(c, os.Interrupt) }

func aborts(os.Signal) bool { return true }

func prepare(*exec.Cmd, bool) {}

func relay(*exec.Cmd, os.Signal, bool) {}

func exitStatus(ps *os.ProcessState) (int, string) { return ps.ExitCode(), "" }

func signalName(s os.Signal) string { return s.String() }

func signalCode(os.Signal) int { return 130 }

func isTerminal(io.Reader) bool { return false }
