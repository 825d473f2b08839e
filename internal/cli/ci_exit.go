package cli

import (
	"errors"
	"fmt"
)

// Exit codes of the CI commands (track, preflight, run), as the Versioner CLI
// has them: scripts written for it test these numbers.
const (
	exitOK      = 0
	exitFailure = 1 // usage, configuration, network
	exitBuild   = 2 // track build: any failure to record (the Versioner CLI's code)
	exitAPI     = 4 // the server answered with an error
	exitBlocked = 5 // a preflight rule refused the deployment
)

// exitError ends the process with code; the command has already said why.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitWith returns nil for 0, so kong and Run treat it as success.
func exitWith(code int) error {
	if code == exitOK {
		return nil
	}
	return &exitError{code: code}
}

// requestedExit is the code an error from a command asks for, if it is one.
func requestedExit(err error) (int, bool) {
	var e *exitError
	if errors.As(err, &e) {
		return e.code, true
	}
	return 0, false
}
