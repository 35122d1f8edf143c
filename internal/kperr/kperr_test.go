package kperr

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestExitCodes(t *testing.T) {
	cause := errors.New("cause")
	cases := []struct {
		err  error
		code int
		env  bool
	}{
		{BadInputf("bad %s", "flag"), ExitBadInput, false},
		{CompileFailure("x.c does not compile", []string{"x.c:1:1: error: e"}), ExitBadInput, false},
		{Toolchainf(cause, "cannot run gcc"), ExitEnvironment, true},
		{WorkAreaf(cause, "work area"), ExitEnvironment, true},
		{Internalf(cause, "bug"), ExitEnvironment, false},
		{fmt.Errorf("x.c: %w", Makef(nil, "make x.o failed")), ExitEnvironment, false},
		{errors.New("untyped"), ExitEnvironment, false},
		{fmt.Errorf("wrapped: %w", Toolchainf(nil, "gcc died")), ExitEnvironment, true},
		{fmt.Errorf("stopped: %w", context.Canceled), ExitEnvironment, true},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.code {
			t.Errorf("%v: exit %d, want %d", c.err, got, c.code)
		}
		if got := IsEnvironment(c.err); got != c.env {
			t.Errorf("%v: environment %v, want %v", c.err, got, c.env)
		}
	}
	if err := Toolchainf(cause, "cannot run gcc"); !errors.Is(err, cause) || err.Error() != "cannot run gcc: cause" {
		t.Errorf("%v does not wrap its cause", err)
	}
	if got := Message(errors.New("a\nb")); got != "internal error: a (please report this)" {
		t.Errorf("message %q", got)
	}
}

// A worker's panic becomes an internal error: exit 3, never evidence.
func TestFromPanic(t *testing.T) {
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = FromPanic(r)
			}
		}()
		var m map[string]int
		m["x"]++
		return nil
	}()
	if KindOf(err) != Internal || ExitCode(err) != ExitEnvironment || IsEnvironment(err) {
		t.Errorf("FromPanic: %v kind %v exit %d", err, KindOf(err), ExitCode(err))
	}
}
