//go:build vsync_testing

package vsync

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Integration tests against the real local S3-compatible server started by
// scripts/with-s3.sh; vaults are written by the real CLI. They fail (never skip) when the
// server's variables are missing.

const testPassphrase = "go correct horse battery staple"

type server struct {
	endpoint, access, secret, bucket, bin string
}

func testServer(t testing.TB) server {
	t.Helper()
	s := server{
		endpoint: os.Getenv("VSYNC_TEST_ENDPOINT"),
		access:   os.Getenv("VSYNC_TEST_ACCESS_KEY"),
		secret:   os.Getenv("VSYNC_TEST_SECRET_KEY"),
		bucket:   os.Getenv("VSYNC_TEST_BUCKET"),
		bin:      os.Getenv("VSYNC_BIN"),
	}
	if s.endpoint == "" || s.access == "" || s.secret == "" || s.bucket == "" || s.bin == "" {
		t.Fatal("VSYNC_TEST_ENDPOINT/ACCESS_KEY/SECRET_KEY/BUCKET and VSYNC_BIN must be set: run under scripts/with-s3.sh")
	}
	return s
}

func uniquePrefix(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "go-" + hex.EncodeToString(b) + "/"
}

// cli runs the vsync CLI with a clean environment (no VSYNC_* or AWS_* inherited).
func (s server) cli(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VSYNC_") && !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vsync %s: %v\n%s", args[0], err, stderr.String())
	}
	return string(out)
}

// token mints a runtime token for prefix (secret overrides the server's secret key).
func (s server) token(t testing.TB, prefix, secret, endpoint string, extra ...string) string {
	t.Helper()
	if secret == "" {
		secret = s.secret
	}
	if endpoint == "" {
		endpoint = s.endpoint
	}
	out := s.cli(t, append([]string{"runtime-token", "--endpoint", endpoint, "--region", "us-east-1", "--bucket", s.bucket,
		"--prefix", prefix, "--env", "dev", "--access-key-id", s.access, "--secret-access-key", secret}, extra...)...)
	return strings.TrimSpace(out)
}

// push writes a generation with dotenv and assets (name -> bytes); returns the stdout line.
func (s server) push(t testing.TB, config, passphrase, dotenv string, assets map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	envFile := filepath.Join(dir, ".env")
	must(t, os.WriteFile(pw, []byte(passphrase+"\n"), 0o600))
	must(t, os.WriteFile(envFile, []byte(dotenv), 0o600))
	args := []string{"push", "--config", config, "--passphrase-file", pw, "--env-file", envFile}
	i := 0
	for name, b := range assets {
		p := filepath.Join(dir, fmt.Sprintf("asset%d", i))
		i++
		must(t, os.WriteFile(p, b, 0o600))
		args = append(args, "--asset", name+"="+p)
	}
	return s.cli(t, args...)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const sampleEnv = "DATABASE_URL=postgres://app@db/dev\nAPI_TOKEN=tok-go-secret-value\nSHARED=from-vault\n"

var sampleAsset = []byte("-----BEGIN CERTIFICATE-----\nMIIB\x00\x01\xff\n-----END CERTIFICATE-----\n")

// pushed returns a fresh vault's config (gen 1).
func pushed(t testing.TB, s server) string {
	t.Helper()
	config := s.token(t, uniquePrefix(t), "", "")
	if out := s.push(t, config, testPassphrase, sampleEnv, map[string][]byte{"tls/ca.pem": sampleAsset}); !strings.HasPrefix(out, "pushed gen=1 ") {
		t.Fatalf("push printed %q", out)
	}
	return config
}

func checkSampleVault(t *testing.T, v *Vsync) {
	t.Helper()
	if g := v.Generation(); g != 1 {
		t.Errorf("generation %d, want 1", g)
	}
	if got, ok := v.GetEnv("DATABASE_URL"); !ok || got != "postgres://app@db/dev" {
		t.Errorf("DATABASE_URL = %q, %v", got, ok)
	}
	if s := v.EnvSource("DATABASE_URL"); s != SourceVault || s.String() != "vault" {
		t.Errorf("source %v", s)
	}
	b, err := v.GetAsContent("tls/ca.pem")
	if err != nil || !bytes.Equal(b, sampleAsset) {
		t.Errorf("asset: %q, %v", b, err)
	}
	if b, err := v.GetAsContent("API_TOKEN"); err != nil || string(b) != "tok-go-secret-value" {
		t.Errorf("key as content: %q, %v", b, err)
	}
	_, err = v.GetAsContent("nope.pem")
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrNotFound) {
		t.Errorf("missing asset: %v", err)
	}
	if keys := v.Keys(); strings.Join(keys, ",") != "DATABASE_URL,API_TOKEN,SHARED" {
		t.Errorf("keys %q", keys)
	}
}

func TestOpenFromProcessEnvironment(t *testing.T) {
	s := testServer(t)
	config := pushed(t, s)
	for _, k := range []string{"VSYNC_CONFIG_FILE", "VSYNC_PASSPHRASE_FILE", "GO_LATE_VAR", "SHARED"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("VSYNC_CONFIG", config)
	t.Setenv("VSYNC_PASSPHRASE", testPassphrase)
	t.Setenv("LOG_LEVEL", "debug")
	v, err := Open(context.Background(), WithDefaults(map[string]string{"PORT": "8080", "LOG_LEVEL": "info"}))
	if err != nil {
		t.Fatal(err)
	}
	checkSampleVault(t, v)
	// Step 2 reads the process environment at lookup time, not at open time.
	if _, ok := v.GetEnv("GO_LATE_VAR"); ok {
		t.Fatal("GO_LATE_VAR resolved before it was set")
	}
	t.Setenv("GO_LATE_VAR", "late")
	t.Setenv("SHARED", "from-env")
	for key, want := range map[string][2]string{
		"GO_LATE_VAR": {"late", "env"}, "LOG_LEVEL": {"debug", "env"}, "PORT": {"8080", "default"},
		"SHARED": {"from-vault", "vault"}, "NOPE": {"", "missing"},
	} {
		got, ok := v.GetEnv(key)
		if got != want[0] || v.EnvSource(key).String() != want[1] || ok != (want[1] != "missing") || v.HasEnv(key) != ok {
			t.Errorf("%s: (%q, %v, %s), want %v", key, got, ok, v.EnvSource(key), want)
		}
	}
	t.Setenv("GO_EMPTY", "")
	if got, ok := v.GetEnv("GO_EMPTY"); !ok || got != "" || v.EnvSource("GO_EMPTY") != SourceEnv {
		t.Errorf("an empty variable counts as set: (%q, %v)", got, ok)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil { // idempotent
		t.Fatalf("second Close: %v", err)
	}
	if got, ok := v.GetEnv("DATABASE_URL"); ok || got != "" {
		t.Error("GetEnv after Close returned a value")
	}
	if v.HasEnv("PORT") || v.EnvSource("PORT") != SourceMissing || v.Generation() != 0 || v.Keys() != nil {
		t.Error("getters after Close must return zero values")
	}
	if _, err := v.GetAsContent("tls/ca.pem"); !errors.Is(err, ErrClosed) {
		t.Errorf("GetAsContent after Close: %v", err)
	}
	if _, err := v.RemoteGeneration(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("RemoteGeneration after Close: %v", err)
	}
}

func TestOpenWithEnvLookup(t *testing.T) {
	s := testServer(t)
	config := pushed(t, s)
	env := map[string]string{"VSYNC_CONFIG": config, "VSYNC_PASSPHRASE": testPassphrase, "INJECTED": "yes"}
	v, err := Open(context.Background(), WithEnvLookup(mapLookup(env)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	checkSampleVault(t, v)
	if got, ok := v.GetEnv("INJECTED"); !ok || got != "yes" || v.EnvSource("INJECTED") != SourceEnv {
		t.Errorf("INJECTED = %q, %v", got, ok)
	}
	if _, ok := v.GetEnv("PATH"); ok {
		t.Error("the injected lookup must replace the process environment")
	}
}

func TestEnvironIsTheChainForEveryName(t *testing.T) {
	s := testServer(t)
	config := pushed(t, s)
	t.Setenv("SHARED", "from-env")
	t.Setenv("ONLY_ENV", "e")
	t.Setenv("EMPTY_ENV", "")
	t.Setenv("PORT", "")
	os.Unsetenv("PORT")
	defaults := map[string]string{"PORT": "8080", "ONLY_ENV": "d", "API_TOKEN": "default-token"}
	v, err := OpenWith(context.Background(), config, testPassphrase, WithDefaults(defaults))
	if err != nil {
		t.Fatal(err)
	}
	view := v.Environ()
	want := map[string]string{
		"DATABASE_URL": "postgres://app@db/dev", "API_TOKEN": "tok-go-secret-value", "SHARED": "from-vault",
		"ONLY_ENV": "e", "EMPTY_ENV": "", "PORT": "8080",
	}
	for k, w := range want {
		if got, ok := view[k]; !ok || got != w {
			t.Errorf("Environ()[%s] = %q, %v; want %q", k, got, ok, w)
		}
	}
	// Exactly GetEnv key by key: every variable of the process is there, and nothing else.
	names := map[string]bool{"DATABASE_URL": true, "API_TOKEN": true, "SHARED": true, "PORT": true}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names[name] = true
	}
	if len(view) != len(names) {
		t.Errorf("Environ() has %d names, want %d", len(view), len(names))
	}
	for k, got := range view {
		if w, ok := v.GetEnv(k); !ok || w != got || !names[k] {
			t.Errorf("Environ()[%s] = %q, GetEnv = %q, %v", k, got, w, ok)
		}
	}
	t.Setenv("ONLY_ENV", "changed")
	if view["ONLY_ENV"] != "e" || v.Environ()["ONLY_ENV"] != "changed" {
		t.Error("Environ() is a snapshot read at call time")
	}
	// An injected lookup answers for the process's names.
	w, err := OpenWith(context.Background(), config, testPassphrase,
		WithEnvLookup(mapLookup(map[string]string{"ONLY_ENV": "injected", "NOT_IN_PROCESS": "x"})))
	if err != nil {
		t.Fatal(err)
	}
	if iv := w.Environ(); iv["ONLY_ENV"] != "injected" || iv["SHARED"] != "from-vault" || len(iv) != 4 {
		t.Errorf("Environ() with an injected lookup: %d names, ONLY_ENV=%q", len(iv), iv["ONLY_ENV"])
	}
	w.Close()
	v.Close()
	if v.Environ() != nil {
		t.Error("Environ() after Close must be nil")
	}
}

// The struct-loading example (examples/structload, its own module with the real
// github.com/caarlos0/env/v11) built and run against a pushed vault; README.md shows its core.
func TestStructLoadExample(t *testing.T) {
	s := testServer(t)
	config := s.token(t, uniquePrefix(t), "", "")
	dotenv := "DATABASE_URL=postgres://app@db/structs\nFEATURES=search,export\nDB_POOL=16\nPORT=7000\n"
	if out := s.push(t, config, testPassphrase, dotenv, nil); !strings.HasPrefix(out, "pushed gen=1 ") {
		t.Fatalf("push printed %q", out)
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = filepath.Join("examples", "structload")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VSYNC_") && !strings.HasPrefix(kv, "PORT=") && !strings.HasPrefix(kv, "TIMEOUT=") {
			env = append(env, kv)
		}
	}
	// PORT in the vault wins over the environment's; TIMEOUT comes from the environment.
	cmd.Env = append(env, "VSYNC_CONFIG="+config, "VSYNC_PASSPHRASE="+testPassphrase, "PORT=1", "TIMEOUT=250ms")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run ./examples/structload: %v\n%s", err, stderr.String())
	}
	want := `database_url=postgres://app@db/structs port=7000 timeout=250ms features=["search" "export"] db_pool=16` + "\n"
	if string(out) != want {
		t.Errorf("the example printed %q, want %q", out, want)
	}
	// The README's Go struct-loading block is the example's code, as written.
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join("examples", "structload", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Struct loading")
	_, block, _ := strings.Cut(section, "```go\n")
	block, _, _ = strings.Cut(block, "```")
	if block == "" || !strings.Contains(string(main), block) {
		t.Errorf("README.md's struct-loading block is not examples/structload/main.go's code:\n%s", block)
	}
}

// captureStderr runs f with file descriptor 2 redirected (the core prints warnings there).
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	must(t, err)
	saved, err := syscall.Dup(2)
	must(t, err)
	must(t, syscall.Dup2(int(w.Fd()), 2))
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, r); close(done) }()
	f()
	must(t, syscall.Dup2(saved, 2))
	syscall.Close(saved)
	w.Close()
	<-done
	r.Close()
	return buf.String()
}

func TestOpenFileVariables(t *testing.T) {
	s := testServer(t)
	config := pushed(t, s)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config")
	pwPath := filepath.Join(dir, "pass")
	must(t, os.WriteFile(cfgPath, []byte(config+"\n"), 0o600))
	must(t, os.WriteFile(pwPath, []byte(testPassphrase+"\r\n"), 0o600))
	env := map[string]string{"VSYNC_CONFIG_FILE": cfgPath, "VSYNC_PASSPHRASE_FILE": pwPath, "VSYNC_PASSPHRASE": "ignored: _FILE wins"}

	for _, mode := range []os.FileMode{0o600, 0o644} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			must(t, os.Chmod(pwPath, mode))
			var v *Vsync
			var err error
			stderr := captureStderr(t, func() { v, err = Open(context.Background(), WithEnvLookup(mapLookup(env))) })
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			checkSampleVault(t, v)
			warning := fmt.Sprintf("vsync: %s is group/world-readable (mode %04o); narrow to 0600", pwPath, mode)
			if mode == 0o600 && stderr != "" {
				t.Errorf("unexpected stderr %q", stderr)
			}
			if mode == 0o644 && strings.TrimSpace(stderr) != warning {
				t.Errorf("stderr %q, want %q", stderr, warning)
			}
		})
	}
	t.Run("0666", func(t *testing.T) {
		must(t, os.Chmod(pwPath, 0o666))
		_, err := Open(context.Background(), WithEnvLookup(mapLookup(env)))
		if !errors.Is(err, ErrConfigMissing) || !strings.Contains(err.Error(), "0666") || !strings.Contains(err.Error(), pwPath) {
			t.Fatalf("world-writable file: %v", err)
		}
	})
}

func TestOpenWithAndHasNewVersion(t *testing.T) {
	s := testServer(t)
	config := pushed(t, s)
	ctx := context.Background()
	v, err := OpenWith(ctx, config, testPassphrase, WithDefaults(map[string]string{"PORT": "8080"}),
		WithEnvLookup(mapLookup(nil)), WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	checkSampleVault(t, v)
	if got, _ := v.GetEnv("PORT"); got != "8080" || v.EnvSource("PORT") != SourceDefault {
		t.Errorf("PORT = %q", got)
	}
	if g, err := v.RemoteGeneration(ctx); err != nil || g != 1 {
		t.Fatalf("remote generation %d, %v", g, err)
	}
	if n, err := v.HasNewVersion(ctx); err != nil || n {
		t.Fatalf("has new version before the second push: %v, %v", n, err)
	}
	if out := s.push(t, config, testPassphrase, sampleEnv+"NEW_KEY=2\n", nil); !strings.HasPrefix(out, "pushed gen=2 ") {
		t.Fatalf("second push printed %q", out)
	}
	if g, err := v.RemoteGeneration(ctx); err != nil || g != 2 {
		t.Fatalf("remote generation after the second push %d, %v", g, err)
	}
	if n, err := v.HasNewVersion(ctx); err != nil || !n {
		t.Fatalf("has new version after the second push: %v, %v", n, err)
	}
	if v.Generation() != 1 {
		t.Fatal("the open handle must keep its generation")
	}
	if _, ok := v.GetEnv("NEW_KEY"); ok {
		t.Fatal("no refresh: the open handle must not see the new key")
	}
	v2, err := OpenWith(ctx, config, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if got, _ := v2.GetEnv("NEW_KEY"); v2.Generation() != 2 || got != "2" {
		t.Fatalf("reopened: gen %d NEW_KEY %q", v2.Generation(), got)
	}
}

// liveConfig reads a seeded live scenario's runtime token.
func liveConfig(t *testing.T, category, name string) string {
	t.Helper()
	live := os.Getenv("VSYNC_CONFORMANCE_LIVE")
	if live == "" {
		t.Fatal("VSYNC_CONFORMANCE_LIVE is not set: run under scripts/with-s3.sh")
	}
	b, err := os.ReadFile(filepath.Join(live, category, name+".config"))
	must(t, err)
	return strings.TrimSpace(string(b))
}

// TestErrorClasses produces every class from a real scenario and checks the one table
// (errors.go): errors.Is matches its sentinel and no other, Code is the core's code, and no
// message carries the passphrase or the secret key.
func TestErrorClasses(t *testing.T) {
	s := testServer(t)
	config := pushed(t, s)
	ctx := context.Background()
	seededPass := "correct horse battery staple"
	open := func(cfg, pass string, opts ...Option) error {
		v, err := OpenWith(ctx, cfg, pass, opts...)
		if err == nil {
			v.Close()
		}
		return err
	}
	cases := []struct {
		class    string
		sentinel error
		produce  func(t *testing.T) error
	}{
		{"ConfigMissingError", ErrConfigMissing, func(t *testing.T) error {
			_, err := Open(ctx, WithEnvLookup(mapLookup(map[string]string{"VSYNC_PASSPHRASE": testPassphrase})))
			if err != nil && !strings.Contains(err.Error(), "VSYNC_CONFIG") {
				t.Errorf("the message must name VSYNC_CONFIG: %v", err)
			}
			return err
		}},
		{"ConfigUnsupportedVersionError", ErrConfigUnsupportedVersion, func(t *testing.T) error {
			return open(config+"=", testPassphrase)
		}},
		{"S3UnreachableError", ErrS3Unreachable, func(t *testing.T) error {
			// A wrong secret key: the server answers a real 403.
			return open(s.token(t, uniquePrefix(t), "wrong-secret-key-value", ""), testPassphrase)
		}},
		{"ManifestNotFoundError", ErrManifestNotFound, func(t *testing.T) error {
			return open(s.token(t, uniquePrefix(t), "", ""), testPassphrase)
		}},
		{"WrongPassphraseError", ErrWrongPassphrase, func(t *testing.T) error {
			return open(config, "not the passphrase")
		}},
		{"BundleCorruptError", ErrBundleCorrupt, func(t *testing.T) error {
			return open(liveConfig(t, "s3-scenario", "bundle-missing"), seededPass)
		}},
		{"UnsupportedSpecVersionError", ErrUnsupportedSpecVersion, func(t *testing.T) error {
			return open(liveConfig(t, "s3-scenario", "unsupported-envelope"), seededPass)
		}},
		{"ClosedError", ErrClosed, func(t *testing.T) error {
			v, err := OpenWith(ctx, config, testPassphrase)
			must(t, err)
			must(t, v.Close())
			_, err = v.GetAsContent("tls/ca.pem")
			return err
		}},
		{"NotFoundError", ErrNotFound, func(t *testing.T) error {
			v, err := OpenWith(ctx, config, testPassphrase)
			must(t, err)
			defer v.Close()
			_, err = v.GetAsContent("no/such/asset")
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("not fs.ErrNotExist: %v", err)
			}
			return err
		}},
		{"InternalError", ErrInternal, func(t *testing.T) error {
			return testingRaise(classByName(t, "InternalError").kind) // a real panic in the library
		}},
		{"InvalidArgumentError", ErrInvalidArgument, func(t *testing.T) error {
			return open(config, testPassphrase, WithDefaults(map[string]string{"A\x00B": "v"}))
		}},
	}
	if len(cases) != len(errorClasses) {
		t.Fatalf("%d cases for the core's %d kinds", len(cases), len(errorClasses))
	}
	for _, c := range cases {
		t.Run(c.class, func(t *testing.T) {
			err := c.produce(t)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.sentinel) || className(err) != c.class {
				t.Fatalf("got %s (%v), want %s", className(err), err, c.class)
			}
			for _, other := range errorClasses {
				if other.sentinel != c.sentinel && errors.Is(err, other.sentinel) {
					t.Errorf("also matches %s", other.class)
				}
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != classByName(t, c.class).code {
				t.Fatalf("code: %#v", err)
			}
			for _, secret := range []string{testPassphrase, s.secret, "tok-go-secret-value", "wrong-secret-key-value"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the message leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestUnreachableAndContext(t *testing.T) {
	s := testServer(t)
	silent := holdingServer(t)
	config := s.token(t, uniquePrefix(t), "", silent.endpoint)

	t.Run("refused connection", func(t *testing.T) {
		_, err := OpenWith(context.Background(), s.token(t, "x/", "", refusingEndpoint(t)), testPassphrase, WithTimeout(5*time.Second))
		if !errors.Is(err, ErrS3Unreachable) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("WithTimeout", func(t *testing.T) {
		start := time.Now()
		_, err := OpenWith(context.Background(), config, testPassphrase, WithTimeout(300*time.Millisecond))
		wantOwnTimeout(t, err)
		// The server holds the connection for the whole test: only the deadline ends the call.
		// The deadline + 10 s covers the key derivation the open still finishes on a loaded machine.
		if d := time.Since(start); d > 300*time.Millisecond+10*time.Second {
			t.Fatalf("returned after %v", d)
		}
	})
	t.Run("ctx deadline", func(t *testing.T) {
		// Both timers (ctx's and the native deadline it became) race here: the answer is the same.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := OpenWith(ctx, config, testPassphrase)
		wantCtxBound(t, err, context.DeadlineExceeded)
		if d := time.Since(start); d > 300*time.Millisecond+10*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("ctx cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		drain(silent.accepted)
		go func() {
			// Open (not OpenWith) with a long own timeout: only the cancellation can end it early.
			_, err := Open(ctx, WithTimeout(time.Minute),
				WithEnvLookup(mapLookup(map[string]string{"VSYNC_CONFIG": config, "VSYNC_PASSPHRASE": testPassphrase})))
			errc <- err
		}()
		<-silent.accepted // the open is waiting on the server
		cancel()
		select {
		case err := <-errc:
			wantCtxBound(t, err, context.Canceled)
		case <-time.After(30 * time.Second): // half the own timeout: the cancel, not the timeout, ended it
			t.Fatal("cancel did not end the open")
		}
	})
	t.Run("ctx already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := OpenWith(ctx, config, testPassphrase); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrS3Unreachable) {
			t.Fatalf("%v", err)
		}
	})
}

func TestConcurrentReaders(t *testing.T) {
	s := testServer(t)
	config := pushed(t, s)
	v, err := OpenWith(context.Background(), config, testPassphrase, WithDefaults(map[string]string{"PORT": "8080"}))
	must(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				if got, ok := v.GetEnv("DATABASE_URL"); !ok || got != "postgres://app@db/dev" {
					errs <- fmt.Errorf("goroutine %d: DATABASE_URL %q", g, got)
					return
				}
				if got, _ := v.GetEnv("PORT"); got != "8080" || v.EnvSource("PORT") != SourceDefault {
					errs <- fmt.Errorf("goroutine %d: PORT %q", g, got)
					return
				}
				if b, err := v.GetAsContent("tls/ca.pem"); err != nil || !bytes.Equal(b, sampleAsset) {
					errs <- fmt.Errorf("goroutine %d: asset %v", g, err)
					return
				}
				if v.Generation() != 1 {
					errs <- fmt.Errorf("goroutine %d: generation", g)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if g, err := v.RemoteGeneration(context.Background()); err != nil || g != 1 {
		t.Errorf("remote generation %d, %v", g, err)
	}

	// Close racing with readers: every read either succeeds or sees a closed handle. Close comes
	// once every reader is in its loop (an event, not a sleep).
	var wg2, reading sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg2.Add(1)
		reading.Add(1)
		go func() {
			defer wg2.Done()
			reading.Done()
			for i := 0; i < 500; i++ {
				if got, ok := v.GetEnv("DATABASE_URL"); ok && got != "postgres://app@db/dev" {
					t.Errorf("torn read %q", got)
					return
				}
				_, _ = v.GetAsContent("tls/ca.pem")
			}
		}()
	}
	reading.Wait()
	must(t, v.Close())
	wg2.Wait()
	if _, ok := v.GetEnv("DATABASE_URL"); ok {
		t.Error("value after Close")
	}
}

func TestRedaction(t *testing.T) {
	s := testServer(t)
	config := pushed(t, s)
	v, err := OpenWith(context.Background(), config, testPassphrase)
	must(t, err)
	defer v.Close()
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("opened", "vault", v)
	js, _ := json.Marshal(map[string]any{"vault": v})
	var decoded map[string]string
	must(t, json.Unmarshal(js, &decoded))
	outputs := []string{
		fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprintf("%s", v),
		fmt.Sprint(v), v.String(), v.GoString(), logBuf.String(), decoded["vault"],
	}
	for _, out := range outputs {
		if !strings.Contains(out, "<vsync:redacted>") {
			t.Errorf("not redacted: %q", out)
		}
		for _, secret := range []string{testPassphrase, s.secret, "tok-go-secret-value", "postgres://", "API_TOKEN", config} {
			if strings.Contains(out, secret) {
				t.Errorf("leak in %q", out)
			}
		}
	}
	if got := fmt.Sprintf("%v|%+v|%#v", v, v, v); got != "<vsync:redacted>|<vsync:redacted>|<vsync:redacted>" {
		t.Errorf("got %q", got)
	}
}
