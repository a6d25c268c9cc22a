//go:build vsync_testing

package vsync

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Unit tests of the binding that need no server: the error table against the library, the
// ABI version, and memory: repeated open/get/close must not grow the process.

func TestABIVersion(t *testing.T) {
	header, lib := abiVersions()
	if header != lib || lib != 2 {
		t.Fatalf("header ABI %d, library ABI %d", header, lib)
	}
}

// The table's codes are the ones the C library reports, for every kind it can produce
// without a server (the server-backed ones are in TestErrorClasses).
func TestErrorTableMatchesLibrary(t *testing.T) {
	produce := map[string]func() error{
		"ConfigMissingError": func() error { _, err := testingDecodeConfigJSON(`{"v":1}`); return err },
		"ConfigUnsupportedVersionError": func() error {
			_, err := testingDecodeConfigJSON("vsync-cfg-v1:ab+c")
			return err
		},
		"BundleCorruptError": func() error { _, err := testingDecodeConfigJSON("vsync-cfg-v1:!!!"); return err },
		"UnsupportedSpecVersionError": func() error {
			_, err := testingDecryptEnvelope(append([]byte("RQE2"), make([]byte, 40)...), "pw", "0123456789abcdef", 1)
			return err
		},
		"WrongPassphraseError": func() error {
			_, err := testingDecryptEnvelope(append([]byte("RQE1"), make([]byte, 40)...), "pw", "0123456789abcdef", 1)
			return err
		},
		"ClosedError": func() error {
			h, err := testingOpenPayload([]byte(`{}`), "t", nil)
			if err != nil {
				return err
			}
			h.Close()
			_, err = h.RemoteGeneration(context.Background())
			return err
		},
		"NotFoundError": func() error {
			h, err := testingOpenPayload([]byte(`{}`), "t", nil)
			if err != nil {
				return err
			}
			defer h.Close()
			_, err = h.GetAsContent("x")
			return err
		},
	}
	for _, c := range errorClasses {
		f, ok := produce[c.class]
		if !ok {
			continue // S3Unreachable, ManifestNotFound need a server: TestErrorClasses
		}
		t.Run(c.class, func(t *testing.T) {
			err := f()
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code || !errors.Is(err, c.sentinel) || className(err) != c.class {
				t.Fatalf("got %#v (%v), want %s / %s", err, err, c.class, c.code)
			}
		})
	}
}

// Issue 12 #7: the longest time.Duration (292 years) reaches the core as milliseconds and is
// clamped to its maximum deadline (24 h): the open goes on and fails on the config itself.
func TestHugeTimeoutIsClamped(t *testing.T) {
	_, err := OpenWith(context.Background(), "vsync-cfg-v1:x", "p", WithTimeout(time.Duration(1<<63-1)))
	if !errors.Is(err, ErrBundleCorrupt) {
		t.Fatalf("got %v, want ErrBundleCorrupt", err)
	}
}

func rss(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestRepeatedOpenGetCloseDoesNotGrow opens a vault holding a 256 KiB asset from its payload
// (no network), reads values and the asset, closes; thousands of times. A leak of any C buffer
// or handle would add >= 256 KiB per iteration; the bound allows ~16 MiB in total.
func TestRepeatedOpenGetCloseDoesNotGrow(t *testing.T) {
	asset := bytes.Repeat([]byte("0123456789abcdef"), 16*1024) // 256 KiB
	payload, _ := json.Marshal(map[string]any{
		"kv":     map[string]string{"A": strings.Repeat("v", 4096), "B": "b"},
		"assets": map[string]string{"big.bin": base64.StdEncoding.EncodeToString(asset)},
	})
	iterate := func(n int) {
		for i := 0; i < n; i++ {
			h, err := testingOpenPayload(payload, "test", nil, WithDefaults(map[string]string{"D": "d"}),
				WithEnvLookup(mapLookup(map[string]string{"E": "e"})))
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := h.GetEnv("A"); !ok || len(v) != 4096 {
				t.Fatal("A")
			}
			for _, k := range []string{"B", "D", "E", "missing"} {
				h.GetEnv(k)
				h.EnvSource(k)
				h.HasEnv(k)
			}
			if b, err := h.GetAsContent("big.bin"); err != nil || len(b) != len(asset) {
				t.Fatal("asset")
			}
			_ = h.Keys()
			_, _ = h.GetAsContent("nope")
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	iterate(200) // warm up allocator arenas
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rss(t)
	const n = 2000
	iterate(n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	rssAfter := rss(t)
	growth := rssAfter - rssBefore
	heapGrowth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d iterations: RSS %d KiB -> %d KiB (%+d KiB), Go heap %+d KiB", n,
		rssBefore/1024, rssAfter/1024, growth/1024, heapGrowth/1024)
	if growth > 16<<20 {
		t.Fatalf("RSS grew by %d KiB over %d iterations (a leak would be >= %d KiB)", growth/1024, n, n*len(asset)/1024)
	}
	if heapGrowth > 4<<20 {
		t.Fatalf("Go heap grew by %d KiB", heapGrowth/1024)
	}
}

// waitFinalizers runs a GC and waits until the finalizers it queued have run (the event: a
// marker's own finalizer ran, twice over). The bound only turns a finalizer goroutine that never
// runs into a failure instead of a silent early return.
func waitFinalizers(t *testing.T) {
	t.Helper()
	for i := 0; i < 2; i++ {
		done := make(chan struct{})
		marker := new([16]byte)
		runtime.SetFinalizer(marker, func(*[16]byte) { close(done) })
		marker = nil
		runtime.GC()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("the finalizers did not run within 60 s of a GC")
		}
	}
}

// The finalizer is only a safety net behind Close: handles dropped without Close are still
// released once the GC finds them. (Go cannot see the native memory, so it does not hurry.)
func TestFinalizerReleasesDroppedHandles(t *testing.T) {
	asset := bytes.Repeat([]byte{7}, 256*1024)
	payload, _ := json.Marshal(map[string]any{"assets": map[string]string{"a": base64.StdEncoding.EncodeToString(asset)}})
	round := func() {
		for i := 0; i < 50; i++ {
			if _, err := testingOpenPayload(payload, "test", nil); err != nil {
				t.Fatal(err)
			}
		}
		waitFinalizers(t)
	}
	round()
	round()
	before := rss(t)
	const rounds = 20
	for i := 0; i < rounds; i++ {
		round()
	}
	growth := rss(t) - before
	t.Logf("%d dropped handles of 256 KiB: RSS %+d KiB", rounds*50, growth/1024)
	if growth > 32<<20 {
		t.Fatalf("RSS grew by %d KiB: dropped handles are not released", growth/1024)
	}
}
