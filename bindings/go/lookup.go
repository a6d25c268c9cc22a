package vsync

// The per-call lookup path (GetEnv, HasEnv, EnvSource), with its C glue: cgo lets a Go file
// call only what its own preamble declares, so the glue lives next to its one caller.

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
