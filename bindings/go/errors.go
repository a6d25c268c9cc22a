package vsync

/*
#include "vsync.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
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
)

// errorClass is one row of the table below.
type errorClass struct {
	kind     C.int32_t // the core's ErrorKind::number(), as carried by the C ABI
	code     string    // the stable string code
	class    string    // the canonical class name of SPEC §9 (used by the conformance runner)
	sentinel error
}

// errorClasses is THE place that maps the core's error kinds to Go sentinels.
var errorClasses = []errorClass{
	{C.VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING", "ConfigMissingError", ErrConfigMissing},
	{C.VSYNC_KIND_CONFIG_UNSUPPORTED_VERSION, "VSYNC_CONFIG_UNSUPPORTED_VERSION", "ConfigUnsupportedVersionError", ErrConfigUnsupportedVersion},
	{C.VSYNC_KIND_S3_UNREACHABLE, "VSYNC_S3_UNREACHABLE", "S3UnreachableError", ErrS3Unreachable},
	{C.VSYNC_KIND_MANIFEST_NOT_FOUND, "VSYNC_MANIFEST_NOT_FOUND", "ManifestNotFoundError", ErrManifestNotFound},
	{C.VSYNC_KIND_WRONG_PASSPHRASE, "VSYNC_WRONG_PASSPHRASE", "WrongPassphraseError", ErrWrongPassphrase},
	{C.VSYNC_KIND_BUNDLE_CORRUPT, "VSYNC_BUNDLE_CORRUPT", "BundleCorruptError", ErrBundleCorrupt},
	{C.VSYNC_KIND_UNSUPPORTED_SPEC_VERSION, "VSYNC_UNSUPPORTED_SPEC_VERSION", "UnsupportedSpecVersionError", ErrUnsupportedSpecVersion},
	{C.VSYNC_KIND_CLOSED, "VSYNC_CLOSED", "ClosedError", ErrClosed},
	{C.VSYNC_KIND_NOT_FOUND, "VSYNC_NOT_FOUND", "NotFoundError", ErrNotFound},
}

func classOfKind(kind C.int32_t) *errorClass {
	for i := range errorClasses {
		if errorClasses[i].kind == kind {
			return &errorClasses[i]
		}
	}
	return nil
}

// Error is the concrete type of the errors this package returns. Code is the stable string
// code (VSYNC_CONFIG_MISSING, ...); Message never contains a secret.
type Error struct {
	Code    string
	Message string
	class   *errorClass
	cause   error // context.Canceled / context.DeadlineExceeded when the caller's ctx ended
}

func (e *Error) Error() string {
	if e.class != nil {
		return e.class.sentinel.Error() + ": " + e.Message
	}
	return "vsync: " + e.Message
}

// Unwrap exposes the class sentinel (and the context error, if any) to errors.Is.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.class != nil {
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

func closedError() error {
	c := classOfKind(C.VSYNC_KIND_CLOSED)
	return &Error{Code: c.code, Message: "this vsync handle is closed; open a new one", class: c}
}

// contextError is what an abandoned call returns: it wraps ctx.Err() and ErrS3Unreachable.
func contextError(what string, cause error) error {
	c := classOfKind(C.VSYNC_KIND_S3_UNREACHABLE)
	return &Error{Code: c.code, Message: what + " gave up before S3 answered: " + cause.Error(), class: c, cause: cause}
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
