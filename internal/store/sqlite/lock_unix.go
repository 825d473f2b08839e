//go:build unix

package sqlite

import (
	"fmt"
	"os"
	"syscall"
)

// ServerLock is a server's hold on <database>.lock for as long as it runs.
//
// Every server holds a shared lock on the file from start to exit. At
// start it first tries an exclusive one: if that succeeds, no other live
// server uses the database, so every delivery lease in it was taken by a
// process that is gone (the kernel drops a dead process's lock, kill -9
// included) and the new server may take them over at once instead of
// waiting for the leases to expire. It then keeps a shared lock, so a
// server started next to it sees that it is alive.
type ServerLock struct{ f *os.File }

// LockServer takes the server lock for the database at path. When no
// other server holds it, it runs sole while holding the lock exclusively:
// then leases found in the database belong to dead processes only, and no
// server can start leasing until sole returns. It reports whether sole ran.
func LockServer(path string, sole func() error) (l *ServerLock, ran bool, err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		if err := sole(); err != nil {
			f.Close()
			return nil, false, err
		}
		ran = true
	}
	// Converting to shared is not atomic (the exclusive lock is dropped
	// first), but this server leases nothing before it holds the shared
	// lock: a server slipping in between takes over nothing of ours.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("lock %s.lock: %w", path, err)
	}
	return &ServerLock{f: f}, ran, nil
}

// Close releases the lock.
func (l *ServerLock) Close() error { return l.f.Close() }
