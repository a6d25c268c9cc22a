//go:build vsync_testing

package vsync

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The conformance runner (conformance/README.md): every category directory of the corpus,
// a subtest per vector, a failure on an unknown category. Corpus: VSYNC_CONFORMANCE_DIR, else
// the project's own conformance/vectors.

type vector struct {
	Category string                     `json:"category"`
	Inputs   map[string]json.RawMessage `json:"inputs"`
	Expected map[string]json.RawMessage `json:"expected"`
	name     string
	dir      string
}

func (v *vector) bin(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v.dir, v.name+".bin"))
	if err != nil {
		t.Fatalf("read %s.bin: %v", v.name, err)
	}
	return b
}

// in decodes inputs[key] into out; false when absent or null.
func (v *vector) in(t *testing.T, key string, out any) bool {
	t.Helper()
	return decodeField(t, v.Inputs, key, out)
}

func (v *vector) want(t *testing.T, key string, out any) bool {
	t.Helper()
	return decodeField(t, v.Expected, key, out)
}

func decodeField(t *testing.T, m map[string]json.RawMessage, key string, out any) bool {
	t.Helper()
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return false
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("field %s: %v", key, err)
	}
	return true
}

// isJSON reports whether inputs[key] is a JSON value starting with `first` ('"' for a string,
// '{' for an object); false when absent or null.
func (v *vector) isJSON(key string, first byte) bool {
	raw := bytes.TrimSpace(v.Inputs[key])
	return len(raw) > 0 && raw[0] == first
}

func (v *vector) str(t *testing.T, key, def string) string {
	s := def
	v.in(t, key, &s)
	return s
}

func (v *vector) strPtr(t *testing.T, key string) *string {
	var s string
	if v.in(t, key, &s) {
		return &s
	}
	return nil
}

func (v *vector) iterations(t *testing.T) uint32 {
	n := uint32(600000)
	v.in(t, "iterations", &n)
	return n
}

// expectError checks err against expected.error; it returns true when the vector expects
// an error (so the caller stops).
func (v *vector) expectError(t *testing.T, err error) bool {
	t.Helper()
	var want string
	v.want(t, "error", &want)
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	if err == nil {
		t.Fatalf("expected %s, got success", want)
	}
	if got := className(err); got != want {
		t.Fatalf("expected %s, got %s (%v)", want, got, err)
	}
	return true
}

func corpusDir(t *testing.T) string {
	if d := os.Getenv("VSYNC_CONFORMANCE_DIR"); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", "..", "conformance", "vectors"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var runners = map[string]func(*testing.T, *vector){
	"rqe1-decrypt":       runDecrypt,
	"rqe1-decrypt-error": runDecrypt,
	"rqem0001-manifest":  runManifest,
	"config-blob":        runConfigBlob,
	"fallback-chain":     runFallbackChain,
	"resolved-view":      runResolvedView,
	"asset-path":         runAssetPath,
	"error-taxonomy":     runErrorTaxonomy,
	"vault-payload":      runVaultPayload,
	"bootstrap":          runBootstrap,
	"s3-scenario":        runS3Scenario,
	"rollback":           runRollback,
}

func TestConformance(t *testing.T) {
	root := corpusDir(t)
	cats, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("corpus %s: %v", root, err)
	}
	total := 0
	for _, c := range cats {
		if !c.IsDir() {
			continue
		}
		cat := c.Name()
		dir := filepath.Join(root, cat)
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		sort.Strings(files)
		t.Run(cat, func(t *testing.T) {
			run, ok := runners[cat]
			if !ok {
				t.Fatalf("unknown conformance category %q in %s", cat, root)
			}
			if len(files) == 0 {
				t.Fatalf("category %s has no vectors", cat)
			}
			for _, f := range files {
				name := strings.TrimSuffix(filepath.Base(f), ".json")
				total++
				t.Run(name, func(t *testing.T) {
					raw, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					v := &vector{name: name, dir: dir}
					if err := json.Unmarshal(raw, v); err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					if v.Category != cat {
						t.Fatalf("vector category %q in directory %q", v.Category, cat)
					}
					run(t, v)
				})
			}
		})
	}
	if total == 0 {
		t.Fatalf("no vectors in %s", root)
	}
	t.Logf("%d vectors from %s", total, root)
}

func runDecrypt(t *testing.T, v *vector) {
	out, err := testingDecryptEnvelope(v.bin(t), v.str(t, "passphrase", ""), v.str(t, "salt", ""), v.iterations(t))
	if v.expectError(t, err) {
		return
	}
	var want string
	v.want(t, "plaintext_hex", &want)
	if hex.EncodeToString(out) != want {
		t.Fatalf("plaintext %x, want %s", out, want)
	}
}

func runManifest(t *testing.T, v *vector) {
	ts, payload, err := testingUnsealManifest(v.bin(t), v.strPtr(t, "remote_ts"))
	if v.expectError(t, err) {
		return
	}
	var wantTS, wantHex string
	v.want(t, "embedded_ts", &wantTS)
	v.want(t, "payload_hex", &wantHex)
	if ts != wantTS || hex.EncodeToString(payload) != wantHex {
		t.Fatalf("got (%s, %x), want (%s, %s)", ts, payload, wantTS, wantHex)
	}
}

func runConfigBlob(t *testing.T, v *vector) {
	out, err := testingDecodeConfigJSON(string(v.bin(t)))
	if v.expectError(t, err) {
		return
	}
	var got, want map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	v.want(t, "config_json", &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config mismatch (values not shown: they hold a secret key); keys got %d want %d", len(got), len(want))
	}
}

type query struct {
	Key    string  `json:"key"`
	Value  *string `json:"value"`
	Source string  `json:"source"`
	Has    bool    `json:"has"`
}

// mapLookup is the injected process environment of a vector.
func mapLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { s, ok := env[k]; return s, ok }
}

func checkQueries(t *testing.T, h *Vsync, v *vector) {
	t.Helper()
	var results []query
	v.want(t, "results", &results)
	if len(results) == 0 {
		t.Fatal("vector has no expected results")
	}
	for _, q := range results {
		val, ok := h.GetEnv(q.Key)
		if q.Value == nil {
			if ok || val != "" {
				t.Errorf("%s: got a value, want none", q.Key)
			}
		} else if !ok || val != *q.Value {
			t.Errorf("%s: got (%q, %v), want %q", q.Key, val, ok, *q.Value)
		}
		if s := h.EnvSource(q.Key).String(); s != q.Source {
			t.Errorf("%s: source %s, want %s", q.Key, s, q.Source)
		}
		if h.HasEnv(q.Key) != q.Has {
			t.Errorf("%s: has %v, want %v", q.Key, !q.Has, q.Has)
		}
	}
}

// chainInputs reads the inputs of a fallback-chain vector: the vault as an open payload, the
// environment and the defaults.
func chainInputs(t *testing.T, v *vector) (payload []byte, env, defaults map[string]string) {
	var vault map[string]string
	v.in(t, "vault", &vault)
	v.in(t, "env", &env)
	v.in(t, "defaults", &defaults)
	payload, _ = json.Marshal(map[string]any{"kv": nonNil(vault)})
	return payload, env, defaults
}

func runFallbackChain(t *testing.T, v *vector) {
	payload, env, defaults := chainInputs(t, v)
	h, err := testingOpenPayload(payload, "test", nil, WithDefaults(defaults), WithEnvLookup(mapLookup(env)))
	if v.expectError(t, err) {
		return
	}
	defer h.Close()
	checkQueries(t, h, v)
}

// runResolvedView runs Environ with the process environment exactly the vector's env (cleared
// and set for the call, restored after: the view lists every variable of the process).
func runResolvedView(t *testing.T, v *vector) {
	payload, env, defaults := chainInputs(t, v)
	h, err := testingOpenPayload(payload, "test", nil, WithDefaults(defaults))
	if v.expectError(t, err) {
		return
	}
	defer h.Close()
	var want struct {
		Environ []struct{ Key, Value, Source string }
	}
	if err := json.Unmarshal(v.Expected["environ"], &want.Environ); err != nil {
		t.Fatal(err)
	}
	saved := os.Environ()
	os.Clearenv()
	for k, val := range env {
		os.Setenv(k, val)
	}
	view := h.Environ()
	sources := make([]Source, len(want.Environ))
	for i, e := range want.Environ {
		sources[i] = h.EnvSource(e.Key)
	}
	os.Clearenv()
	for _, kv := range saved {
		if k, val, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, val)
		}
	}
	if len(view) != len(want.Environ) {
		t.Errorf("environ has %d names, want %d: %q", len(view), len(want.Environ), view)
	}
	for i, e := range want.Environ {
		if got, ok := view[e.Key]; !ok || got != e.Value {
			t.Errorf("environ[%q] = %q, %v; want %q", e.Key, got, ok, e.Value)
		}
		if sources[i].String() != e.Source {
			t.Errorf("env_source(%q) = %v, want %s", e.Key, sources[i], e.Source)
		}
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func runAssetPath(t *testing.T, v *vector) {
	key := v.str(t, "key", "")
	var vault map[string]string
	v.in(t, "vault", &vault)
	bin := v.bin(t)
	payload, _ := json.Marshal(map[string]any{
		"kv":     nonNil(vault),
		"assets": map[string]string{key: base64.StdEncoding.EncodeToString(bin)},
	})
	h, err := testingOpenPayload(payload, "test", nil)
	if v.expectError(t, err) {
		return
	}
	defer h.Close()
	got, err := h.GetAsContent(key)
	if err != nil {
		t.Fatal(err)
	}
	var wantHex, wantMode string
	v.want(t, "bytes_hex", &wantHex)
	v.want(t, "mode_octal", &wantMode)
	if hex.EncodeToString(got) != wantHex {
		t.Fatalf("bytes differ")
	}
	// The README's tempfile recipe: os.CreateTemp creates the file with mode 0600.
	path, err := writeSecretTemp(t.TempDir(), got)
	if err != nil {
		t.Fatal(err)
	}
	back, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(back, got) {
		t.Fatalf("round trip through %s failed: %v", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fmt.Sprintf("%04o", st.Mode().Perm()); mode != wantMode {
		t.Fatalf("mode %s, want %s", mode, wantMode)
	}
}

// writeSecretTemp is the tempfile recipe of README.md.
func writeSecretTemp(dir string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, "vsync-asset-*") // created 0600
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

type fileSpec struct {
	ContentHex string `json:"content_hex"`
	ModeOctal  string `json:"mode_octal"`
}

// bootstrapEnv creates the vector's files in a fresh directory (chmod after writing, so the
// umask does not interfere) and returns env with {dir} substituted.
func bootstrapEnv(t *testing.T, v *vector) (map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	var files map[string]fileSpec
	v.in(t, "files", &files)
	for name, f := range files {
		content, err := hex.DecodeString(f.ContentHex)
		if err != nil {
			t.Fatal(err)
		}
		mode, err := strconv.ParseUint(f.ModeOctal, 8, 32)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, os.FileMode(mode)); err != nil {
			t.Fatal(err)
		}
	}
	var env map[string]string
	v.in(t, "env", &env)
	out := make(map[string]string, len(env))
	for k, val := range env {
		out[k] = strings.ReplaceAll(val, "{dir}", dir)
	}
	return out, dir
}

func runBootstrap(t *testing.T, v *vector) {
	env, dir := bootstrapEnv(t, v)
	config, pass, warnings, err := testingResolveBootstrap(env)
	if v.expectError(t, err) {
		return
	}
	var wantConfig, wantPass string
	var wantWarnings []string
	v.want(t, "config", &wantConfig)
	v.want(t, "passphrase", &wantPass)
	v.want(t, "warnings", &wantWarnings)
	for i := range wantWarnings {
		wantWarnings[i] = strings.ReplaceAll(wantWarnings[i], "{dir}", dir)
	}
	if config != wantConfig || pass != wantPass {
		t.Fatalf("config/passphrase differ from the expected ones")
	}
	if len(warnings) != len(wantWarnings) || (len(warnings) > 0 && !reflect.DeepEqual(warnings, wantWarnings)) {
		t.Fatalf("warnings %q, want %q", warnings, wantWarnings)
	}
}

// anyPassphrase is passed when a vector names no passphrase: the family's live scenarios fail
// before decryption.
const anyPassphrase = "any non-empty passphrase"

// What an error-taxonomy vector runs (SPEC §11).
const (
	stepLive       = "live"        // scenario: open the seeded live vault
	stepEnvelope   = "envelope"    // a .bin with passphrase and salt: decrypt the RQE1 envelope
	stepConfigBlob = "config-blob" // a .bin that is a config blob (vsync-cfg-…, or any without a passphrase)
	stepOpenWith   = "open-with"   // config and passphrase: OpenWith, which fails before any network access
	stepBootstrap  = "bootstrap"   // env (and our optional files): resolve the bootstrap, decode its config
)

// taxonomyStep is the one place this runner decides an error-taxonomy vector's step: the
// family's four input shapes and our config shape, told apart by the inputs and the .bin's
// first bytes, never by the vector's name. bin is nil when the vector has no .bin.
func taxonomyStep(t *testing.T, v *vector, bin []byte) string {
	t.Helper()
	switch {
	case v.isJSON("scenario", '"'):
		return stepLive
	case bin != nil && (bytes.HasPrefix(bin, []byte("vsync-cfg-")) || !v.isJSON("passphrase", '"')):
		return stepConfigBlob
	case bin != nil:
		return stepEnvelope
	case v.isJSON("config", '"'):
		return stepOpenWith
	case v.isJSON("env", '{'):
		return stepBootstrap
	}
	t.Fatalf("error-taxonomy vector %s: no input shape this runner knows", v.name)
	return ""
}

func runErrorTaxonomy(t *testing.T, v *vector) {
	var want string
	if !v.want(t, "error", &want) {
		t.Fatal("error-taxonomy vector without an expected error")
	}
	bin, readErr := os.ReadFile(filepath.Join(v.dir, v.name+".bin"))
	if readErr != nil {
		bin = nil
	}
	passphrase := v.str(t, "passphrase", "")
	if passphrase == "" {
		passphrase = anyPassphrase
	}
	var err error
	switch taxonomyStep(t, v, bin) {
	case stepLive:
		h, e := openLive(t, v, passphrase, nil)
		if e == nil {
			h.Close()
		}
		err = e
	case stepEnvelope:
		_, err = testingDecryptEnvelope(bin, v.str(t, "passphrase", ""), v.str(t, "salt", ""), v.iterations(t))
	case stepConfigBlob:
		_, err = testingDecodeConfigJSON(string(bin))
	case stepOpenWith:
		h, e := OpenWith(context.Background(), v.str(t, "config", ""), passphrase)
		if e == nil {
			h.Close()
		}
		err = e
	case stepBootstrap:
		env, _ := bootstrapEnv(t, v)
		var config string
		if config, _, _, err = testingResolveBootstrap(env); err == nil {
			_, err = testingDecodeConfigJSON(config)
		}
	}
	v.expectError(t, err)
}

func runVaultPayload(t *testing.T, v *vector) {
	h, err := testingOpenPayload(v.bin(t), v.str(t, "env", "test"), v.strPtr(t, "pointer_ts"),
		WithEnvLookup(mapLookup(nil)))
	if v.expectError(t, err) {
		return
	}
	defer h.Close()
	var keys []string
	var kv map[string]string
	var assets map[string]string
	v.want(t, "keys", &keys)
	v.want(t, "kv", &kv)
	v.want(t, "assets", &assets)
	if got := h.Keys(); len(got) != len(keys) || (len(keys) > 0 && !reflect.DeepEqual(got, keys)) {
		t.Errorf("keys %q, want %q", got, keys)
	}
	for k, want := range kv {
		got, ok := h.GetEnv(k)
		if !ok || got != want || h.EnvSource(k) != SourceVault {
			t.Errorf("%s: got (%q, %v, %s), want %q from vault", k, got, ok, h.EnvSource(k), want)
		}
	}
	for name, want := range assets {
		got, err := h.GetAsContent(name)
		if err != nil || hex.EncodeToString(got) != want {
			t.Errorf("asset %s: %x (%v), want %s", name, got, err, want)
		}
	}
}

// openLive opens a live vector with its seeded runtime token (never skipped: a missing
// VSYNC_CONFORMANCE_LIVE or .config file fails).
func openLive(t *testing.T, v *vector, passphrase string, opts []Option) (*Vsync, error) {
	t.Helper()
	live := os.Getenv("VSYNC_CONFORMANCE_LIVE")
	if live == "" {
		t.Fatal("VSYNC_CONFORMANCE_LIVE is not set: run under scripts/with-s3.sh")
	}
	cfg, err := os.ReadFile(filepath.Join(live, v.Category, v.name+".config"))
	if err != nil {
		t.Fatalf("live config of %s/%s: %v", v.Category, v.name, err)
	}
	return OpenWith(context.Background(), strings.TrimSpace(string(cfg)), passphrase, opts...)
}

// openLiveAtGeneration opens the vector's live vault with its passphrase. It returns nil when the
// open failed (checked against the vector's expected error); otherwise the handle, after checking
// its generation against the vector's, and that generation. The caller closes it.
func openLiveAtGeneration(t *testing.T, v *vector, opts []Option) (*Vsync, int64) {
	t.Helper()
	h, err := openLive(t, v, v.str(t, "passphrase", ""), opts)
	if v.expectError(t, err) {
		return nil, 0
	}
	var gen int64
	v.want(t, "generation", &gen)
	if h.Generation() != gen {
		t.Errorf("generation %d, want %d", h.Generation(), gen)
	}
	return h, gen
}

func runRollback(t *testing.T, v *vector) {
	var floor *int64
	v.in(t, "min_generation", &floor)
	opts := []Option{WithEnvLookup(mapLookup(nil))}
	if floor != nil {
		opts = append(opts, WithMinGeneration(*floor))
	}
	h, _ := openLiveAtGeneration(t, v, opts)
	if h == nil {
		return
	}
	defer h.Close()
	var kv map[string]string
	v.want(t, "kv", &kv)
	for k, want := range kv {
		if got, ok := h.GetEnv(k); !ok || got != want {
			t.Errorf("%s = %q (%v), want %q", k, got, ok, want)
		}
	}
}

func runS3Scenario(t *testing.T, v *vector) {
	var defaults, env map[string]string
	v.in(t, "defaults", &defaults)
	v.in(t, "env", &env)
	h, gen := openLiveAtGeneration(t, v, []Option{WithDefaults(defaults), WithEnvLookup(mapLookup(env))})
	if h == nil {
		return
	}
	defer h.Close()
	checkQueries(t, h, v)
	var assets map[string]string
	v.want(t, "assets", &assets)
	for name, want := range assets {
		got, err := h.GetAsContent(name)
		if err != nil || hex.EncodeToString(got) != want {
			t.Errorf("asset %s: %x (%v), want %s", name, got, err, want)
		}
	}
	ctx := context.Background()
	if rg, err := h.RemoteGeneration(ctx); err != nil || rg != gen {
		t.Errorf("remote generation %d (%v), want %d", rg, err, gen)
	}
	if n, err := h.HasNewVersion(ctx); err != nil || n {
		t.Errorf("has new version %v (%v), want false", n, err)
	}
}
