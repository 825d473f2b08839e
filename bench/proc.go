package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cleanups runs deferred teardown in reverse order, once.
type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) add(fn func()) {
	c.mu.Lock()
	c.fns = append(c.fns, fn)
	c.mu.Unlock()
}

func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// child is a server process. Its stdout and stderr are scanned line by line
// for the address it announces and kept (the last lines) for diagnostics.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *lineLog
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
	stop sync.Once
}

// startChild runs path args… (with env added to ours), waits (bounded by timeout) until a line of its
// output matches addrRE, and returns the child and the loopback address the
// first group captured. The caller must call stopChild; cl does it anyway.
func startChild(ctx context.Context, cl *cleanups, name, path string, args, env []string, addrRE *regexp.Regexp,
	keepStdin bool, timeout time.Duration) (*child, string, error) {
	c := &child{name: name, out: newLineLog(addrRE), done: make(chan struct{})}
	c.cmd = exec.Command(path, args...)
	if env != nil {
		c.cmd.Env = append(os.Environ(), env...)
	}
	c.cmd.Stdout = c.out
	c.cmd.Stderr = c.out
	c.cmd.SysProcAttr = sysProcAttr()
	c.cmd.WaitDelay = 5 * time.Second // stop waiting for output pipes held by grandchildren
	if keepStdin {
		// The write end stays open for as long as this process lives;
		// a child reading stdin sees EOF when we are gone.
		if _, err := c.cmd.StdinPipe(); err != nil {
			return nil, "", err
		}
	}
	if err := c.cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	cl.add(func() { c.terminate() })
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case addr := <-c.out.addr:
		if err := checkLoopback(addr); err != nil {
			c.terminate()
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		return c, addr, nil
	case <-c.done:
		return nil, "", fmt.Errorf("%s exited before listening (%v); its output:\n%s", name, c.err, c.out.tail(20))
	case <-t.C:
		c.terminate()
		return nil, "", fmt.Errorf("%s did not announce its address within %s; its output:\n%s", name, timeout, c.out.tail(20))
	case <-ctx.Done():
		c.terminate()
		return nil, "", ctx.Err()
	}
}

// terminate sends SIGTERM, then SIGKILL if the child has not exited within
// 10 s, and waits for it. Safe to call more than once.
func (c *child) terminate() {
	c.stop.Do(func() {
		select {
		case <-c.done:
			return
		default:
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}

// exited reports whether the child has died (it should live until terminate).
func (c *child) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited during the run (%v); its output:\n%s", c.name, c.err, c.out.tail(20))
	default:
		return nil
	}
}

// runCmd runs a short command to completion and returns its stdout.
func runCmd(ctx context.Context, timeout time.Duration, dir, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", path, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// lineLog is an io.Writer that splits output into lines, keeps the last
// ones, counts warnings and errors (slog text levels) and sends the first
// address addrRE captures.
type lineLog struct {
	mu       sync.Mutex
	partial  []byte
	lines    []string // ring of the last maxLines
	next     int
	total    int
	warnings int
	errors   int
	re       *regexp.Regexp
	addr     chan string
	found    bool
}

const maxLines = 200

func newLineLog(re *regexp.Regexp) *lineLog {
	return &lineLog{re: re, addr: make(chan string, 1)}
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 64<<10 { // a runaway line: keep it as a line
		l.line(string(l.partial))
		l.partial = nil
	}
	return len(p), nil
}

func (l *lineLog) line(s string) {
	if len(l.lines) < maxLines {
		l.lines = append(l.lines, s)
	} else {
		l.lines[l.next] = s
		l.next = (l.next + 1) % maxLines
	}
	l.total++
	switch {
	case strings.Contains(s, "level=ERROR"):
		l.errors++
	case strings.Contains(s, "level=WARN"):
		l.warnings++
	}
	if !l.found && l.re != nil {
		if m := l.re.FindStringSubmatch(s); m != nil {
			l.found = true
			l.addr <- m[1]
		}
	}
}

// tail returns the last n lines kept.
func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ordered := append(append([]string{}, l.lines[l.next:]...), l.lines[:l.next]...)
	if len(ordered) > n {
		ordered = ordered[len(ordered)-n:]
	}
	return "    " + strings.Join(ordered, "\n    ")
}

// counts returns how many warning and error lines the child logged.
func (l *lineLog) counts() (warnings, errs int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warnings, l.errors
}

var _ io.Writer = (*lineLog)(nil)
