//go:build vsync_testing

package vsync

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// classByName is the core's kind of that canonical class name (fails the test when absent).
func classByName(t *testing.T, name string) *errorClass {
	t.Helper()
	for i := range errorClasses {
		if errorClasses[i].class == name {
			return &errorClasses[i]
		}
	}
	t.Fatalf("the core lists no kind %s", name)
	return nil
}

// TestEveryCoreKindMapsToItsSentinel is driven by the core's list (vsync_error_kinds): one
// subtest per kind, each raised through the C ABI's normal error path (InternalError by a
// real panic caught in the library).
func TestEveryCoreKindMapsToItsSentinel(t *testing.T) {
	if len(errorClasses) != len(sentinelOf) {
		t.Errorf("the core lists %d kinds, Go maps %d", len(errorClasses), len(sentinelOf))
	}
	if n := len(errorClasses); n < 11 {
		t.Fatalf("the core lists only %d kinds", n)
	}
	taxonomy := 0
	for _, c := range errorClasses {
		if c.taxonomy {
			taxonomy++
		}
		t.Run(c.class, func(t *testing.T) {
			if c.sentinel == nil {
				t.Fatalf("no Go sentinel for the core kind %d (%s)", c.kind, c.class)
			}
			if !strings.HasSuffix(c.class, "Error") || c.code == "" {
				t.Fatalf("odd kind from the core: %+v", c)
			}
			err := testingRaise(c.kind)
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code {
				t.Fatalf("got %#v, want code %s", err, c.code)
			}
			if !errors.Is(err, c.sentinel) || className(err) != c.class {
				t.Fatalf("got %s (%v), want %s", className(err), err, c.class)
			}
			for _, other := range errorClasses {
				if other.kind != c.kind && errors.Is(err, other.sentinel) {
					t.Errorf("also matches %s", other.class)
				}
			}
			if !strings.HasPrefix(err.Error(), c.sentinel.Error()+": ") {
				t.Errorf("message %q does not start with the sentinel's", err.Error())
			}
			if strings.Contains(err.Error(), "deliberate") {
				t.Errorf("a panic payload reached the message: %v", err)
			}
		})
	}
	if taxonomy != 7 {
		t.Errorf("%d taxonomy kinds, want 7", taxonomy)
	}
}

// The Go side's own refusals carry the core's InvalidArgument kind.
func TestNULBytesAreInvalidArguments(t *testing.T) {
	want := classByName(t, "InvalidArgumentError")
	_, err := OpenWith(context.Background(), "vsync-cfg-v1:x\x00", "p")
	var e *Error
	if !errors.Is(err, ErrInvalidArgument) || !errors.As(err, &e) || e.Code != want.code {
		t.Fatalf("got %#v", err)
	}
	_, err = testingOpenPayload([]byte(`{}`), "t", nil, WithDefaults(map[string]string{"K": "v\x00"}))
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("got %#v", err)
	}
}
