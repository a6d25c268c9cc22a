// Package vsync reads application secrets from an encrypted vsync vault in S3.
//
// It is a thin cgo layer over the vsync Rust core's C ABI (bindings/c/include/vsync.h): the
// formats, the S3 fetch, the lookup order and the error classes all live in the core. Build
// the static library first: `cargo build --release -p vsync-c` (see README.md; link_*.go say
// where it is looked for).
package vsync

/*
#include "vsync.h"
*/
import "C"

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// Source says where a value came from: the chain is vault → env → default → missing.
type Source int

const (
	SourceVault   Source = C.VSYNC_SOURCE_VAULT
	SourceEnv     Source = C.VSYNC_SOURCE_ENV
	SourceDefault Source = C.VSYNC_SOURCE_DEFAULT
	SourceMissing Source = C.VSYNC_SOURCE_MISSING
)

// String gives "vault", "env", "default" or "missing" (safe to log).
func (s Source) String() string {
	switch s {
	case SourceVault:
		return "vault"
	case SourceEnv:
		return "env"
	case SourceDefault:
		return "default"
	case SourceMissing:
		return "missing"
	}
	return "unknown"
}

type openFn func(*C.vsync_options, **C.vsync_handle, **C.vsync_error) C.int32_t

// open runs one C open bounded by ctx: the remaining deadline goes down as the timeout, and a
// cancelled ctx returns at once (the abandoned call finishes in the background and its handle,
// if any, is closed and freed). Errors follow the deadline rule (withCtx).
// The arena a (the call's C arguments) is freed on every path, once the C call returned.
func open(ctx context.Context, what string, o *options, bootstrap bool, a *cArena, call openFn) (*Vsync, error) {
	if err := ctx.Err(); err != nil {
		a.free()
		return nil, contextError(what, err)
	}
	timeout, err := o.effectiveTimeout(ctx)
	if err != nil {
		a.free()
		return nil, contextError(what, err)
	}
	copts, err := o.cOptions(a, timeout, bootstrap)
	if err != nil {
		a.free()
		return nil, err
	}
	type result struct {
		h   *C.vsync_handle
		err error
	}
	do := func() result {
		defer a.free()
		var h *C.vsync_handle
		var e *C.vsync_error
		rc := call(&copts, &h, &e)
		return result{h, takeError(rc, e)}
	}
	finish := func(r result) (*Vsync, error) {
		if r.err != nil {
			return nil, withCtx(ctx, r.err)
		}
		return newVsync(r.h, o.lookup), nil
	}
	if ctx.Done() == nil {
		return finish(do())
	}
	done := make(chan result, 1)
	go func() { done <- do() }()
	select {
	case r := <-done:
		return finish(r)
	case <-ctx.Done():
		select {
		case r := <-done: // it finished too: what the call did is the answer, not a coin toss
			return finish(r)
		default:
		}
		go func() {
			if r := <-done; r.h != nil {
				C.vsync_free(r.h)
			}
		}()
		return nil, contextError(what, ctx.Err())
	}
}

// withCtx applies the deadline rule (docs/deadlines.md) to an error a native call returned:
// an S3-unreachable error of a call that ctx bounded also wraps ctx's error, whichever of
// the native deadline and ctx's own timer fired first.
func withCtx(ctx context.Context, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.class == nil || e.class.sentinel != ErrS3Unreachable || e.cause != nil {
		return err
	}
	e.cause = ctxCause(ctx)
	return err
}

// ctxCause is ctx.Err(), or context.DeadlineExceeded once ctx's deadline has passed even if
// ctx's timer has not run yet: the native deadline is ctx's rounded up to the millisecond
// (both on the monotonic clock), so a native time-out at ctx's deadline comes here first
// whenever the Go timer goroutine is scheduled late. nil when ctx did not bound the call.
func ctxCause(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// Open reads VSYNC_CONFIG / VSYNC_CONFIG_FILE and VSYNC_PASSPHRASE / VSYNC_PASSPHRASE_FILE
// (through os.LookupEnv, or WithEnvLookup), fetches and decrypts the vault: one S3 round trip.
func Open(ctx context.Context, opts ...Option) (*Vsync, error) {
	o := buildOptions(opts)
	return open(ctx, "open", o, true, &cArena{}, func(c *C.vsync_options, h **C.vsync_handle, e **C.vsync_error) C.int32_t {
		return C.vsync_open(c, h, e)
	})
}

// OpenWith opens with explicit inputs, skipping the environment for bootstrap (step 2 of
// GetEnv still reads the environment). An empty config or passphrase is ErrConfigMissing.
func OpenWith(ctx context.Context, config, passphrase string, opts ...Option) (*Vsync, error) {
	if hasNUL(config) || hasNUL(passphrase) {
		return nil, kindError(C.VSYNC_KIND_INVALID_ARGUMENT, "the config or the passphrase contains a NUL byte")
	}
	o := buildOptions(opts)
	a := &cArena{}
	cc, cp := a.str(config), a.str(passphrase)
	return open(ctx, "open", o, false, a, func(c *C.vsync_options, h **C.vsync_handle, e **C.vsync_error) C.int32_t {
		return C.vsync_open_with(cc, cp, c, h, e)
	})
}

const (
	closedBit = int64(1) << 62
	freedBit  = int64(1) << 61
)

// Vsync is an open vault. Safe for concurrent use. Close it when done; a finalizer closes a
// handle that was dropped without Close, as a safety net only.
type Vsync struct {
	h      *C.vsync_handle
	lookup func(string) (string, bool)
	gen    int64 // read once at open: it never changes
	// state = closedBit | freedBit | number of calls in flight. The C handle is freed when it is
	// closed and no call is in flight, so vsync_free never races with another call.
	state atomic.Int64
}

func newVsync(h *C.vsync_handle, lookup func(string) (string, bool)) *Vsync {
	var g C.uint64_t
	var e *C.vsync_error
	_ = takeError(C.vsync_generation(h, &g, &e), e)
	v := &Vsync{h: h, lookup: lookup, gen: int64(g)}
	runtime.SetFinalizer(v, func(v *Vsync) { _ = v.Close() })
	return v
}

func (v *Vsync) acquire() bool {
	for {
		s := v.state.Load()
		if s&closedBit != 0 {
			return false
		}
		if v.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

func (v *Vsync) release() {
	if v.state.Add(-1) == closedBit && v.state.CompareAndSwap(closedBit, closedBit|freedBit) {
		C.vsync_free(v.h)
	}
}

// Close zeroes every value, asset and credential and releases the native handle. It is
// idempotent (a second Close returns nil); later calls return ErrClosed, getters zero values.
func (v *Vsync) Close() error {
	for {
		s := v.state.Load()
		if s&closedBit != 0 {
			return nil // idempotent: closing twice is not an error
		}
		if v.state.CompareAndSwap(s, (s|closedBit)+1) {
			break
		}
	}
	runtime.SetFinalizer(v, nil)
	C.vsync_close(v.h)
	v.release()
	return nil
}

// GetAsContent returns an asset's bytes, else the value of the key of that name as UTF-8.
// A miss is an error matching fs.ErrNotExist (and ErrNotFound).
func (v *Vsync) GetAsContent(name string) ([]byte, error) {
	if !v.acquire() {
		return nil, closedError()
	}
	defer v.release()
	if hasNUL(name) {
		return nil, kindError(C.VSYNC_KIND_NOT_FOUND, "no asset or key with a NUL byte in its name")
	}
	a := cArena{}
	defer a.free()
	var out *C.uint8_t
	var n C.size_t
	var e *C.vsync_error
	rc := C.vsync_get_as_content(v.h, a.str(name), &out, &n, &e)
	if err := takeError(rc, e); err != nil {
		return nil, err
	}
	b := C.GoBytes(unsafe.Pointer(out), C.int(n))
	C.vsync_bytes_free(out)
	return b, nil
}

// Keys lists the vault's key names in payload order (no values); nil after Close.
func (v *Vsync) Keys() []string {
	if !v.acquire() {
		return nil
	}
	defer v.release()
	var list **C.char
	var n C.size_t
	var e *C.vsync_error
	if takeError(C.vsync_keys(v.h, &list, &n, &e), e) != nil {
		return nil
	}
	keys := make([]string, 0, int(n))
	for _, s := range unsafe.Slice(list, int(n)) {
		keys = append(keys, C.GoString(s))
	}
	C.vsync_string_list_free(list, n)
	return keys
}

// Environ is the resolved view: every name GetEnv answers, with the value it answers (vault,
// else the process environment now, else the defaults), for loaders that take a map, such as
// github.com/caarlos0/env's Options.Environment. The environment is read once, here: the names
// of os.Environ(), each read through the handle's lookup (os.LookupEnv, or WithEnvLookup's),
// so Environ()[k] is GetEnv(k) for every k. nil after Close.
//
// The values are the secrets themselves, in Go strings that Close cannot wipe: hand the map to
// the loader and drop it.
func (v *Vsync) Environ() map[string]string {
	if !v.acquire() {
		return nil
	}
	defer v.release()
	a := cArena{}
	defer a.free()
	var names, vals []*C.char
	for _, kv := range os.Environ() {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || hasNUL(name) {
			continue
		}
		if val, set := v.lookup(name); set && !hasNUL(val) {
			names, vals = append(names, a.str(name)), append(vals, a.str(val))
		}
	}
	n := len(names)
	cNames, cVals := a.array(n), a.array(n)
	copy(unsafe.Slice(cNames, n), names)
	copy(unsafe.Slice(cVals, n), vals)
	var outNames, outVals **C.char
	var outLens *C.size_t
	var outLen C.size_t
	var e *C.vsync_error
	rc := C.vsync_environ(v.h, cNames, cVals, C.size_t(n), &outNames, &outVals, &outLens, &outLen, &e)
	if takeError(rc, e) != nil {
		return nil
	}
	view := make(map[string]string, int(outLen))
	ns, vs, ls := unsafe.Slice(outNames, int(outLen)), unsafe.Slice(outVals, int(outLen)), unsafe.Slice(outLens, int(outLen))
	for i := range ns {
		// With its length: a vault value may hold a NUL byte.
		view[C.GoString(ns[i])] = C.GoStringN(vs[i], C.int(ls[i]))
	}
	C.vsync_string_list_free(outNames, outLen)
	C.vsync_string_list_free(outVals, outLen)
	C.vsync_size_list_free(outLens, outLen)
	return view
}

// Generation is the vault generation read at open time (0 after Close).
func (v *Vsync) Generation() int64 {
	if v.state.Load()&closedBit != 0 {
		return 0
	}
	return v.gen
}

// RemoteGeneration is the generation in the bucket now: one HEAD request.
func (v *Vsync) RemoteGeneration(ctx context.Context) (int64, error) {
	var g C.uint64_t
	err := v.network(ctx, "remote generation", func(e **C.vsync_error) C.int32_t {
		return C.vsync_remote_generation(v.h, deadlineMillis(ctx), &g, e)
	})
	if err != nil {
		return 0, err
	}
	return int64(g), nil
}

// HasNewVersion reports whether the bucket holds a newer generation than this handle.
func (v *Vsync) HasNewVersion(ctx context.Context) (bool, error) {
	var b C.bool
	err := v.network(ctx, "has new version", func(e **C.vsync_error) C.int32_t {
		return C.vsync_has_new_version(v.h, deadlineMillis(ctx), &b, e)
	})
	return err == nil && bool(b), err
}

// network runs one remote call bounded by ctx (see open); errors follow the deadline rule.
func (v *Vsync) network(ctx context.Context, what string, call func(**C.vsync_error) C.int32_t) error {
	if err := ctx.Err(); err != nil {
		return contextError(what, err)
	}
	if !v.acquire() {
		return closedError()
	}
	do := func() error {
		defer v.release()
		var e *C.vsync_error
		rc := call(&e)
		return withCtx(ctx, takeError(rc, e))
	}
	if ctx.Done() == nil {
		return do()
	}
	done := make(chan error, 1)
	go func() { done <- do() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // it finished too: what the call did is the answer
			return err
		default:
		}
		return contextError(what, ctx.Err())
	}
}

// deadlineMillis passes ctx's deadline down to the native call (0: the open's timeout; the
// core takes the sooner of the two), so a call abandoned on cancellation does not outlive the
// deadline in the background. Rounded up, so the native deadline never expires before ctx's.
func deadlineMillis(ctx context.Context) C.uint64_t {
	d, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	left := time.Until(d)
	ms := (left + time.Millisecond - 1) / time.Millisecond
	if ms < 1 {
		ms = 1
	}
	return C.uint64_t(ms)
}

const redacted = "<vsync:redacted>"

// String never shows keys, values or credentials.
func (v *Vsync) String() string { return redacted }

// GoString makes %#v redacted too.
func (v *Vsync) GoString() string { return redacted }

// LogValue keeps log/slog output redacted.
func (v *Vsync) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON keeps encoding/json output redacted.
func (v *Vsync) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
