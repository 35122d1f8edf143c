// Package kperr holds kprewrite's typed errors. Every failure belongs to one
// kind, and the kind decides the exit status: bad input or usage exits 2;
// a broken toolchain, an unusable work area and kprewrite's own failures
// exit 3, because nothing can be concluded about the patch from them. Errors
// wrap their cause with %w, so errors.Is and errors.As see through them.
package kperr

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a failure.
type Kind int

// The kinds of failure.
const (
	// Internal is a failure of kprewrite itself (the default for errors
	// that carry no kind).
	Internal Kind = iota
	// BadInput is a patch, file or flag kprewrite cannot use.
	BadInput
	// Compile is a compile that ran and failed with diagnostics: evidence
	// about the input (the patch or the tree does not compile).
	Compile
	// Toolchain is a compiler or make that cannot run, dies, or fails
	// without saying why: never evidence about the input.
	Toolchain
	// WorkArea is a work area (--cache) that cannot be created or written.
	WorkArea
	// Canceled is a run stopped by a signal or a canceled context.
	Canceled
	// Make is a make run (preparing kprewrite's own build, or compiling a
	// file once to learn its kbuild command) that failed: the tree or the
	// config does not build what was asked. It stops what needed it, not
	// the whole run.
	Make
	// Disk is a file kprewrite must write that the file system refuses
	// mid-run (no space, quota, I/O error, or an output that was writable
	// when the run began and no longer is): never evidence about the input.
	Disk
)

// Exit statuses of the command line.
const (
	ExitBadInput    = 2 // bad input or usage
	ExitEnvironment = 3 // environment or kprewrite failure
)

var kindNames = map[Kind]string{
	Internal:  "internal error",
	BadInput:  "bad input",
	Compile:   "compile failure",
	Toolchain: "toolchain failure",
	WorkArea:  "unusable work area",
	Canceled:  "canceled",
	Make:      "make failure",
	Disk:      "disk failure",
}

// String names the kind.
func (k Kind) String() string { return kindNames[k] }

// Error is a failure of a given kind.
type Error struct {
	Kind Kind
	Msg  string // what failed, one line
	Err  error  // the cause, or nil
	// Diagnostics are the compiler's messages of a Compile failure
	// ("file:line:col: error: ...").
	Diagnostics []string
}

// Error returns the message and its cause, on one line.
func (e *Error) Error() string {
	var s string
	switch {
	case e.Err == nil:
		s = e.Msg
	case e.Msg == "":
		s = e.Err.Error()
	default:
		s = e.Msg + ": " + e.Err.Error()
	}
	if len(e.Diagnostics) > 0 {
		s += " (" + e.Diagnostics[0] + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the exit status for the kind.
func (e *Error) ExitCode() int {
	if e.Kind == BadInput || e.Kind == Compile {
		return ExitBadInput
	}
	return ExitEnvironment
}

func newf(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

// BadInputf returns a bad-input error.
func BadInputf(format string, args ...any) error { return newf(BadInput, nil, format, args...) }

// Toolchainf returns a toolchain failure with its cause (may be nil).
func Toolchainf(cause error, format string, args ...any) error {
	return newf(Toolchain, cause, format, args...)
}

// WorkAreaf returns a work-area failure with its cause (may be nil).
func WorkAreaf(cause error, format string, args ...any) error {
	return newf(WorkArea, cause, format, args...)
}

// Internalf returns a failure of kprewrite itself.
func Internalf(cause error, format string, args ...any) error {
	return newf(Internal, cause, format, args...)
}

// Diskf returns a disk failure with its cause.
func Diskf(cause error, format string, args ...any) error {
	return newf(Disk, cause, format, args...)
}

// Makef returns a make failure with its cause (may be nil).
func Makef(cause error, format string, args ...any) error {
	return newf(Make, cause, format, args...)
}

// CompileFailure returns a compile failure with gcc's diagnostics.
func CompileFailure(msg string, diags []string) error {
	return &Error{Kind: Compile, Msg: msg, Diagnostics: diags}
}

// KindOf returns the kind of err: the kind of the outermost Error in its
// chain, Canceled for a canceled context, Internal for anything else.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Canceled
	}
	return Internal
}

// IsEnvironment reports whether err is a failure of the environment that
// must stop the run: a toolchain or work-area failure, or a cancellation.
// Such an error is never evidence about a patch.
func IsEnvironment(err error) bool {
	if err == nil {
		return false
	}
	switch KindOf(err) {
	case Toolchain, WorkArea, Canceled, Disk:
		return true
	}
	return false
}

// ExitCode returns the exit status for err: 2 for bad input and compile
// failures, 3 for everything else.
func ExitCode(err error) int {
	switch KindOf(err) {
	case BadInput, Compile:
		return ExitBadInput
	}
	return ExitEnvironment
}

// Message is the one-line text the command line prints for err, with
// "error:" or the kind in front.
func Message(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	switch KindOf(err) {
	case Internal:
		return "internal error: " + s + " (please report this)"
	case Canceled:
		return "canceled: " + s
	}
	return "error: " + s
}

// FromPanic turns a panic recovered in a worker goroutine into an internal
// error, so that the command's guard reports it (exit 3) instead of the
// runtime ending the process with a stack trace. Use it as
//
//	defer func() { if r := recover(); r != nil { err = kperr.FromPanic(r) } }()
func FromPanic(r any) error {
	return newf(Internal, nil, "internal error in a worker: %v; this is a bug in kprewrite, not a finding about the patch: please report it with the patch and the command line", r)
}
