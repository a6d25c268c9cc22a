package vsync

/*
#include "vsync.h"
*/
import "C"

import (
	"context"
	"os"
	"sync"
	"time"
	"unsafe"
)

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
