package main

import "syscall"

// sysProcAttr makes the kernel kill a child when this process dies, even
// without running its cleanups (a crash, SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
