// Package vsync reads application secrets from an encrypted vsync vault in S3.
//
// It is a thin cgo layer over the vsync Rust core's C ABI (bindings/c/include/vsync.h): the
// formats, the S3 fetch, the lookup order and the error classes all live in the core. Build
// the static library first: `cargo build --release -p vsync-c` (see README.md; link_*.go say
// where it is looked for).
package vsync

/*
#include <stdlib.h>
#include <string.h>
#include "vsync.h"

// Glue for the per-call path: Go strings go in without a Go-side copy (copied to a
// NUL-terminated buffer here, zeroed after), results come back by value, so a lookup allocates
// nothing on the Go heap but the returned string.
typedef struct {
    int32_t rc;
    int32_t source;
    bool has;
    char *value;
    size_t len;
    vsync_error *err;
} go_resolved;

static char *go_cstr(_GoString_ s, char *stack, size_t cap) {
    size_t n = _GoStringLen(s);
    char *p = n < cap ? stack : malloc(n + 1);
    if (p == NULL) return NULL;
    memcpy(p, _GoStringPtr(s), n);
    p[n] = 0;
    return p;
}

static void go_cstr_done(char *p, char *stack, size_t n) {
    if (p == NULL) return;
    volatile char *v = p;
    for (size_t i = 0; i < n; i++) v[i] = 0;
    if (p != stack) free(p);
}

// mode: 0 = value and source, 1 = source only, 2 = has_env.
static go_resolved go_resolve(const vsync_handle *h, _GoString_ key, int env_set, _GoString_ env, int mode) {
    go_resolved r;
    memset(&r, 0, sizeof r);
    char kbuf[128], ebuf[256];
    char *k = go_cstr(key, kbuf, sizeof kbuf);
    char *e = env_set ? go_cstr(env, ebuf, sizeof ebuf) : NULL;
    if (k == NULL || (env_set && e == NULL)) {
        r.rc = VSYNC_ERR_INTERNAL;
    } else if (mode == 2) {
        r.rc = vsync_has_env(h, k, e, &r.has, &r.err);
    } else {
        r.rc = vsync_get_env(h, k, e, mode == 0 ? &r.value : NULL, &r.len, &r.source, &r.err);
    }
    go_cstr_done(k, kbuf, _GoStringLen(key));
    if (env_set) go_cstr_done(e, ebuf, _GoStringLen(env));
    return r;
}
*/
import "C"

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
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

// Option configures Open and OpenWith.
type Option func(*options)

type options struct {
	defaults      map[string]string
	timeout       time.Duration
	lookup        func(string) (string, bool)
	minGeneration int64
}

// WithDefaults sets step 3 of the chain (copied; later changes to m are not seen).
func WithDefaults(m map[string]string) Option {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return func(o *options) { o.defaults = c }
}

// WithTimeout bounds Open (and each RemoteGeneration / HasNewVersion). Default 30 s; a ctx
// deadline that comes sooner wins, a later one does not extend it (docs/deadlines.md).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMinGeneration sets the rollback floor (SPEC §4): a vault whose sealed generation is below
// it, or that seals none, fails with ErrBundleCorrupt. 0 (the default) is none;
// VSYNC_MIN_GENERATION raises it too. A negative floor is an invalid argument.
func WithMinGeneration(gen int64) Option { return func(o *options) { o.minGeneration = gen } }

// WithEnvLookup replaces os.LookupEnv, both for the bootstrap variables Open reads
// (VSYNC_CONFIG, VSYNC_CONFIG_FILE, ...) and for step 2 of GetEnv. Meant for tests.
func WithEnvLookup(f func(string) (string, bool)) Option {
	return func(o *options) { o.lookup = f }
}

func buildOptions(opts []Option) *options {
	o := &options{lookup: os.LookupEnv}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if o.lookup == nil {
		o.lookup = os.LookupEnv
	}
	return o
}

// cArena owns the C memory of one call's arguments; free zeroes it (it may hold secrets).
type cArena struct {
	bufs []unsafe.Pointer
	lens []int
}

func (a *cArena) str(s string) *C.char {
	p := C.malloc(C.size_t(len(s) + 1))
	b := unsafe.Slice((*byte)(p), len(s)+1)
	copy(b, s)
	b[len(s)] = 0
	a.bufs = append(a.bufs, p)
	a.lens = append(a.lens, len(s)+1)
	return (*C.char)(p)
}

func (a *cArena) array(n int) **C.char {
	size := n * int(unsafe.Sizeof((*C.char)(nil)))
	if size == 0 {
		size = 1
	}
	p := C.calloc(1, C.size_t(size))
	a.bufs = append(a.bufs, p)
	a.lens = append(a.lens, size)
	return (**C.char)(p)
}

func (a *cArena) free() {
	for i, p := range a.bufs {
		clear(unsafe.Slice((*byte)(p), a.lens[i]))
		C.free(p)
	}
	a.bufs, a.lens = nil, nil
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

var bootstrapVars = sync.OnceValue(func() []string {
	var n C.size_t
	p := C.vsync_bootstrap_variables(&n)
	names := make([]string, 0, int(n))
	for _, s := range unsafe.Slice(p, int(n)) {
		names = append(names, C.GoString(s))
	}
	return names
})

// cOptions lays out o for the C ABI in a's memory. With bootstrap, the variables the core
// reads are looked up now, through o.lookup.
func (o *options) cOptions(a *cArena, timeout time.Duration, bootstrap bool) (C.vsync_options, error) {
	var c C.vsync_options
	if n := len(o.defaults); n > 0 {
		keys, vals := a.array(n), a.array(n)
		ks, vs := unsafe.Slice(keys, n), unsafe.Slice(vals, n)
		i := 0
		for k, v := range o.defaults {
			if hasNUL(k) || hasNUL(v) {
				return c, kindError(C.VSYNC_KIND_INVALID_ARGUMENT, "a default key or value contains a NUL byte")
			}
			ks[i], vs[i] = a.str(k), a.str(v)
			i++
		}
		c.default_keys, c.default_values, c.defaults_len = keys, vals, C.size_t(n)
	}
	if timeout > 0 {
		// Rounded up without overflowing near the largest Duration; the core clamps huge values.
		ms := timeout / time.Millisecond
		if timeout%time.Millisecond != 0 {
			ms++
		}
		c.timeout_ms = C.uint64_t(ms)
	}
	if o.minGeneration < 0 {
		return c, kindError(C.VSYNC_KIND_INVALID_ARGUMENT, "the minimum generation is negative")
	}
	c.min_generation = C.uint64_t(o.minGeneration)
	if bootstrap {
		vars := bootstrapVars()
		names, vals := a.array(len(vars)), a.array(len(vars))
		ns, vs := unsafe.Slice(names, len(vars)), unsafe.Slice(vals, len(vars))
		for i, name := range vars {
			ns[i] = a.str(name)
			if v, ok := o.lookup(name); ok && !hasNUL(v) {
				vs[i] = a.str(v)
			}
		}
		c.env_names, c.env_values, c.env_len = names, vals, C.size_t(len(vars))
	}
	return c, nil
}

// effectiveTimeout is min(WithTimeout, time left before ctx's deadline). cOptions rounds it up
// to whole milliseconds, so the native deadline never expires before ctx's (see ctxCause).
func (o *options) effectiveTimeout(ctx context.Context) (time.Duration, error) {
	t := o.timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return 0, context.DeadlineExceeded
		}
		if t <= 0 || left < t {
			t = left
		}
	}
	return t, nil
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

// resolve runs the core's chain for key with the process environment (read now) as step 2.
// mode: 0 value and source, 1 source only, 2 has_env.
func (v *Vsync) resolve(key string, mode C.int) (C.go_resolved, error) {
	if !v.acquire() {
		return C.go_resolved{}, closedError()
	}
	defer v.release()
	if hasNUL(key) {
		return C.go_resolved{source: C.VSYNC_SOURCE_MISSING}, nil
	}
	envVal, envSet := v.lookup(key)
	set := C.int(0)
	if envSet && !hasNUL(envVal) {
		set = 1
	}
	r := C.go_resolve(v.h, key, set, envVal, mode)
	if err := takeError(r.rc, r.err); err != nil {
		return r, err
	}
	return r, nil
}

// GetEnv resolves key: vault, then the process environment at call time, then the defaults.
// The bool is false when the key is missing (or the handle is closed).
func (v *Vsync) GetEnv(key string) (string, bool) {
	r, err := v.resolve(key, 0)
	if err != nil || r.value == nil {
		return "", false
	}
	val := C.GoStringN(r.value, C.int(r.len))
	C.vsync_string_free(r.value)
	return val, true
}

// HasEnv reports whether GetEnv would find key.
func (v *Vsync) HasEnv(key string) bool {
	r, err := v.resolve(key, 2)
	return err == nil && bool(r.has)
}

// EnvSource says where GetEnv(key) would come from, without the value (safe to log).
// SourceMissing on a closed handle.
func (v *Vsync) EnvSource(key string) Source {
	r, err := v.resolve(key, 1)
	if err != nil {
		return SourceMissing
	}
	return Source(r.source)
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
