//go:build unix

package cli

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// relayed are the signals run passes on to its command.
var relayed = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

var signalNames = map[syscall.Signal]string{
	syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGKILL: "SIGKILL", syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT",
}

func notifySignals(c chan<- os.Signal) { signal.Notify(c, relayed...) }

// aborts reports whether receiving s makes the run "aborted".
func aborts(s os.Signal) bool {
	return s == syscall.SIGINT || s == syscall.SIGTERM || s == syscall.SIGHUP
}

// prepare puts the command in its own process group unless stdin is a
// terminal. In CI (no terminal) whoever signals shiplog — a runner
// cancelling the job, docker stop, kill — reaches the command exactly once,
// through relay. On a terminal the command must stay in the foreground
// group to read from it, and Ctrl-C reaches it directly.
func prepare(cmd *exec.Cmd, interactive bool) {
	if !interactive {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
}

// relay passes a signal on: to the command's process group, or on a
// terminal only what the terminal did not already send it.
func relay(cmd *exec.Cmd, s os.Signal, interactive bool) {
	sig, ok := s.(syscall.Signal)
	if !ok {
		return
	}
	if interactive {
		if sig == syscall.SIGINT || sig == syscall.SIGQUIT || sig == syscall.SIGHUP {
			return // the terminal signals its whole foreground group
		}
		_ = cmd.Process.Signal(sig)
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig) // ESRCH once the group is gone
}

// exitStatus is the shell's view of how a process ended: its code, or 128+N
// when signal N killed it.
func exitStatus(ps *os.ProcessState) (int, string) {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), signalName(ws.Signal())
	}
	return ps.ExitCode(), ""
}

func signalName(s os.Signal) string {
	if sig, ok := s.(syscall.Signal); ok {
		if n, ok := signalNames[sig]; ok {
			return n
		}
		return fmt.Sprintf("signal %d", int(sig))
	}
	return s.String()
}

// signalCode is the exit code of a run ended by s before its command ran.
func signalCode(s os.Signal) int {
	if sig, ok := s.(syscall.Signal); ok {
		return 128 + int(sig)
	}
	return exitFailure
}

// isTerminal reports whether r is a terminal (a character device other than
// /dev/null).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}
