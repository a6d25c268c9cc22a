package vsync

/*
#include "vsync.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"unsafe"
)

// The seven error classes of the vsync taxonomy (SPEC §9). Match them with errors.Is; every
// error this package returns for a failed open or remote call wraps exactly one of them.
var (
	ErrConfigMissing            = errors.New("vsync: config missing")
	ErrConfigUnsupportedVersion = errors.New("vsync: config blob version unsupported")
	ErrS3Unreachable            = errors.New("vsync: S3 unreachable")
	ErrManifestNotFound         = errors.New("vsync: manifest not found")
	ErrWrongPassphrase          = errors.New("vsync: wrong passphrase")
	ErrBundleCorrupt            = errors.New("vsync: bundle corrupt")
	ErrUnsupportedSpecVersion   = errors.New("vsync: unsupported spec version")

	// ErrClosed is returned by calls on a handle after Close (not one of the seven classes).
	ErrClosed = errors.New("vsync: handle is closed")
	// ErrNotFound is the GetAsContent lookup miss; errors.Is(err, fs.ErrNotExist) holds too.
	ErrNotFound = fmt.Errorf("vsync: no such asset or key: %w", fs.ErrNotExist)
	// ErrInternal is a bug caught at the boundary (a panic in the native library): the core's
	// Internal kind, which every vsync binding reports as its root error.
	ErrInternal = errors.New("vsync: internal error")
	// ErrInvalidArgument is an argument refused before the core runs (a NUL byte in a default).
	ErrInvalidArgument = errors.New("vsync: invalid argument")
)

// errorClass is one of the core's error kinds with its Go sentinel.
type errorClass struct {
	kind     C.int32_t // the core's ErrorKind::number(), as carried by the C ABI
	code     string    // the core's stable string code
	class    string    // the core's canonical class name (SPEC §9; the conformance runner's)
	taxonomy bool      // one of the seven classes
	sentinel error
}

// sentinelOf is THE place that maps the core's error kinds to Go sentinels (Go's names; the
// kinds' codes and class names come from the core, below).
var sentinelOf = map[C.int32_t]error{
	C.VSYNC_KIND_CONFIG_MISSING:             ErrConfigMissing,
	C.VSYNC_KIND_CONFIG_UNSUPPORTED_VERSION: ErrConfigUnsupportedVersion,
	C.VSYNC_KIND_S3_UNREACHABLE:             ErrS3Unreachable,
	C.VSYNC_KIND_MANIFEST_NOT_FOUND:         ErrManifestNotFound,
	C.VSYNC_KIND_WRONG_PASSPHRASE:           ErrWrongPassphrase,
	C.VSYNC_KIND_BUNDLE_CORRUPT:             ErrBundleCorrupt,
	C.VSYNC_KIND_UNSUPPORTED_SPEC_VERSION:   ErrUnsupportedSpecVersion,
	C.VSYNC_KIND_CLOSED:                     ErrClosed,
	C.VSYNC_KIND_NOT_FOUND:                  ErrNotFound,
	C.VSYNC_KIND_INTERNAL:                   ErrInternal,
	C.VSYNC_KIND_INVALID_ARGUMENT:           ErrInvalidArgument,
}

// errorClasses is the core's list of kinds (vsync_error_kinds), in the core's order.
var errorClasses = func() []errorClass {
	var n C.size_t
	p := C.vsync_error_kinds(&n)
	out := make([]errorClass, 0, int(n))
	for _, k := range unsafe.Slice(p, int(n)) {
		out = append(out, errorClass{
			kind:     k.kind,
			code:     C.GoString(k.code),
			class:    C.GoString(k.class_name),
			taxonomy: bool(k.taxonomy),
			sentinel: sentinelOf[k.kind],
		})
	}
	return out
}()

func classOfKind(kind C.int32_t) *errorClass {
	for i := range errorClasses {
		if errorClasses[i].kind == kind {
			return &errorClasses[i]
		}
	}
	return nil
}

// Error is the concrete type of the errors this package returns. Code is the core's stable
// string code of the kind (ErrorKind::code); Message never contains a secret.
type Error struct {
	Code    string
	Message string
	class   *errorClass
	cause   error // context.Canceled / context.DeadlineExceeded when the caller's ctx ended
}

func (e *Error) Error() string {
	if e.class != nil && e.class.sentinel != nil {
		return e.class.sentinel.Error() + ": " + e.Message
	}
	return "vsync: " + e.Message
}

// Unwrap exposes the class sentinel (and the context error, if any) to errors.Is.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.class != nil && e.class.sentinel != nil {
		out = append(out, e.class.sentinel)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// takeError converts (and frees) a C error. rc is the function's status.
func takeError(rc C.int32_t, e *C.vsync_error) error {
	if rc == C.VSYNC_OK {
		if e != nil {
			C.vsync_error_free(e)
		}
		return nil
	}
	out := &Error{class: classOfKind(rc)}
	if e != nil {
		out.Code = C.GoString(e.code)
		out.Message = C.GoString(e.message)
		C.vsync_error_free(e)
	} else if out.class != nil {
		out.Code = out.class.code
	}
	if out.Message == "" {
		out.Message = fmt.Sprintf("error %d", int32(rc))
	}
	return out
}

// kindError is an error of the core's kind `kind` raised on the Go side, with the core's code.
func kindError(kind C.int32_t, message string) *Error {
	e := &Error{Message: message, class: classOfKind(kind)}
	if e.class != nil {
		e.Code = e.class.code
	}
	return e
}

func closedError() error {
	return kindError(C.VSYNC_KIND_CLOSED, "this vsync handle is closed; open a new one")
}

// contextError is what an abandoned call returns: it wraps ctx.Err() and ErrS3Unreachable.
func contextError(what string, cause error) error {
	e := kindError(C.VSYNC_KIND_S3_UNREACHABLE, what+" gave up before S3 answered: "+cause.Error())
	e.cause = cause
	return e
}

// className maps an error back to its canonical class name ("" when none): the conformance
// runner compares classes, never messages.
func className(err error) string {
	for _, c := range errorClasses {
		if errors.Is(err, c.sentinel) {
			return c.class
		}
	}
	return ""
}
