//go:build !unix

package sqlite

// ServerLock is a no-op where flock is unavailable: a restarted server
// then waits for the previous process's leases to expire.
type ServerLock struct{}

// LockServer never runs sole here.
func LockServer(path string, sole func() error) (*ServerLock, bool, error) {
	return &ServerLock{}, false, nil
}

// Close does nothing.
func (l *ServerLock) Close() error { return nil }
