//go:build !linux

package main

import "syscall"

// sysProcAttr: outside Linux there is no Pdeathsig; children are stopped by
// the run's cleanups and the bare server also exits when its stdin closes.
func sysProcAttr() *syscall.SysProcAttr { return nil }
