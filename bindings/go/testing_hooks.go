//go:build vsync_testing

package vsync

// Built only with -tags vsync_testing, against a library built with the `testing-hooks`
// feature (scripts/test-go.sh does both): the shipped module's library has no hooks, and
// scripts/go-release-tree.sh leaves this file out of the released module.

/*
#include <stdlib.h>
#include "vsync_testing.h"
*/
import "C"

import "unsafe"

// Conformance hooks (private API, conformance/README.md): the core's single-layer functions,
// reached through the C ABI's vsync_testing_* entry points. Unexported: only this package's
// tests use them (cgo is not allowed in _test.go files, so they live here, behind the tag).

func bytesArg(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// optStr is a.str(*s), or NULL for a nil s (an optional C string argument).
func (a *cArena) optStr(s *string) *C.char {
	if s == nil {
		return nil
	}
	return a.str(*s)
}

func takeBytes(p *C.uint8_t, n C.size_t) []byte {
	b := C.GoBytes(unsafe.Pointer(p), C.int(n))
	C.vsync_bytes_free(p)
	return b
}

func takeString(p *C.char) string {
	s := C.GoString(p)
	C.vsync_string_free(p)
	return s
}

func testingDecryptEnvelope(envelope []byte, passphrase, salt string, iterations uint32) ([]byte, error) {
	a := cArena{}
	defer a.free()
	ep, en := bytesArg(envelope)
	var out *C.uint8_t
	var n C.size_t
	var e *C.vsync_error
	rc := C.vsync_testing_decrypt_envelope(ep, en, a.str(passphrase), a.str(salt), C.uint32_t(iterations), &out, &n, &e)
	if err := takeError(rc, e); err != nil {
		return nil, err
	}
	return takeBytes(out, n), nil
}

func testingUnsealManifest(sealed []byte, remoteTS *string) (string, []byte, error) {
	a := cArena{}
	defer a.free()
	sp, sn := bytesArg(sealed)
	cts := a.optStr(remoteTS)
	var ts *C.char
	var out *C.uint8_t
	var n C.size_t
	var e *C.vsync_error
	rc := C.vsync_testing_unseal_manifest(sp, sn, cts, &ts, &out, &n, &e)
	if err := takeError(rc, e); err != nil {
		return "", nil, err
	}
	return takeString(ts), takeBytes(out, n), nil
}

func testingDecodeConfigJSON(blob string) (string, error) {
	a := cArena{}
	defer a.free()
	var out *C.char
	var e *C.vsync_error
	rc := C.vsync_testing_decode_config_json(a.str(blob), &out, &e)
	if err := takeError(rc, e); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// testingOpenPayload builds a handle from a decrypted payload, without S3.
func testingOpenPayload(payload []byte, env string, pointerTS *string, opts ...Option) (*Vsync, error) {
	o := buildOptions(opts)
	a := &cArena{}
	defer a.free()
	copts, err := o.cOptions(a, 0, false)
	if err != nil {
		return nil, err
	}
	pp, pn := bytesArg(payload)
	cts := a.optStr(pointerTS)
	var h *C.vsync_handle
	var e *C.vsync_error
	rc := C.vsync_testing_open_payload(pp, pn, a.str(env), cts, &copts, &h, &e)
	if err := takeError(rc, e); err != nil {
		return nil, err
	}
	return newVsync(h, o.lookup), nil
}

func testingResolveBootstrap(env map[string]string) (config, passphrase string, warnings []string, err error) {
	a := cArena{}
	defer a.free()
	n := len(env)
	names, vals := a.array(n), a.array(n)
	ns, vs := unsafe.Slice(names, n), unsafe.Slice(vals, n)
	i := 0
	for k, v := range env {
		ns[i], vs[i] = a.str(k), a.str(v)
		i++
	}
	var cc, cp *C.char
	var list **C.char
	var nw C.size_t
	var e *C.vsync_error
	rc := C.vsync_testing_resolve_bootstrap(names, vals, C.size_t(n), &cc, &cp, &list, &nw, &e)
	if err := takeError(rc, e); err != nil {
		return "", "", nil, err
	}
	for _, s := range unsafe.Slice(list, int(nw)) {
		warnings = append(warnings, C.GoString(s))
	}
	C.vsync_string_list_free(list, nw)
	return takeString(cc), takeString(cp), warnings, nil
}

// testingRaise returns the error of the core kind numbered kind through the C ABI's normal
// error path (the Internal kind comes from a real panic caught at the boundary).
func testingRaise(kind C.int32_t) error {
	var e *C.vsync_error
	return takeError(C.vsync_testing_raise(kind, &e), e)
}

// abiVersions returns (header, library) ABI versions.
func abiVersions() (int, int) { return C.VSYNC_ABI_VERSION, int(C.vsync_abi_version()) }
