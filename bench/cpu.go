package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/PID/stat times: 100 on every Linux the
// benchmark targets (USER_HZ is fixed by the kernel ABI, not by CONFIG_HZ).
const userHZ = 100

// cpuSample is where CPU time stood at one instant.
type cpuSample struct {
	at          time.Time
	server      time.Duration // the server processes, all threads (0 if unreadable)
	self        time.Duration // this process: the load generator
	busy, total uint64        // the whole machine, in USER_HZ ticks; iowait counts as idle
}

func sampleCPU(pids ...int) cpuSample {
	s := cpuSample{at: time.Now(), self: procCPU("self")}
	for _, pid := range pids {
		s.server += procCPU(strconv.Itoa(pid))
	}
	s.busy, s.total = machineCPU()
	return s
}

// cpuUse is CPU spent between two samples.
type cpuUse struct {
	server  time.Duration // CPU time the server processes used
	self    time.Duration // CPU time the load generator used
	machine float64       // fraction of all cores busy
}

func cpuBetween(a, b cpuSample) cpuUse {
	u := cpuUse{server: b.server - a.server, self: b.self - a.self}
	if dt := b.total - a.total; dt > 0 {
		u.machine = float64(b.busy-a.busy) / float64(dt)
	}
	return u
}

// procCPU reads utime+stime of /proc/<pid>/stat.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after it start at 3.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64) // field 14
	st, _ := strconv.ParseUint(f[12], 10, 64) // field 15
	return time.Duration(ut+st) * time.Second / userHZ
}

// machineCPU reads the aggregate line of /proc/stat.
func machineCPU() (busy, total uint64) {
	line := firstLine("/proc/stat")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0
	}
	// user nice system idle iowait irq softirq steal (guest time is already in user)
	for i, s := range f[1:min(len(f), 9)] {
		v, _ := strconv.ParseUint(s, 10, 64)
		total += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, total
}
