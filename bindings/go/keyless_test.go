//go:build vsync_testing

package vsync

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Keyless runtime tokens ("credentials": "ambient", SPEC §2): the AWS default chain signs the
// S3 requests. Which credentials signed comes from the dev server's request log
// (VSYNC_TEST_REQUEST_LOG: "<access key id> <session token>" per request); each test hands out
// a session token of its own. t.Setenv makes these tests sequential, as the chain reads the
// process environment.

var chainVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED", "AWS_ENDPOINT_URL",
	"AWS_ENDPOINT_URL_STS", "AWS_REGION", "AWS_DEFAULT_REGION",
}

// cleanChain leaves only what the test sets: profile files that do not exist, IMDS at a
// refused port, no other AWS variable.
func cleanChain(t *testing.T) {
	t.Helper()
	for _, v := range chainVars {
		t.Setenv(v, "")
		must(t, os.Unsetenv(v))
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	refused := l.Addr().String()
	must(t, l.Close())
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+refused)
}

// keylessVault pushes a vault with the server's keys and returns its keyless twin.
func keylessVault(t *testing.T, s server) string {
	t.Helper()
	return keylessVaultAt(t, s, uniquePrefix(t))
}

// keylessVaultAt is keylessVault at a given prefix.
func keylessVaultAt(t *testing.T, s server, prefix string) string {
	t.Helper()
	salt := "go-keyless-salt-" + strings.Repeat("0", 16)
	if out := s.push(t, s.token(t, prefix, "", "", "--salt", salt), testPassphrase, sampleEnv, nil); !strings.HasPrefix(out, "pushed gen=1 ") {
		t.Fatalf("push printed %q", out)
	}
	return strings.TrimSpace(s.cli(t, "runtime-token", "--ambient-credentials", "--endpoint", s.endpoint, "--region",
		"us-east-1", "--bucket", s.bucket, "--prefix", prefix, "--env", "dev", "--salt", salt))
}

// keylessCase starts a keyless test: the dev server, a clean chain, a pushed vault's keyless
// token and a session token of the test's own (tag + a unique suffix).
func keylessCase(t *testing.T, tag string) (server, string, string) {
	t.Helper()
	s := testServer(t)
	cleanChain(t)
	return s, keylessVault(t, s), tag + uniquePrefix(t)[3:19]
}

func signedWith(t *testing.T, token string) []string {
	t.Helper()
	log, err := os.ReadFile(os.Getenv("VSYNC_TEST_REQUEST_LOG"))
	must(t, err)
	var lines []string
	for _, l := range strings.Split(string(log), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[1] == token {
			lines = append(lines, l)
		}
	}
	return lines
}

func openKeyless(t *testing.T, s server, config, token string, want int) {
	t.Helper()
	v, err := OpenWith(context.Background(), config, testPassphrase)
	must(t, err)
	defer v.Close()
	if got, _ := v.GetEnv("DATABASE_URL"); got != "postgres://app@db/dev" {
		t.Fatalf("DATABASE_URL = %q", got)
	}
	lines := signedWith(t, token)
	if len(lines) != want {
		t.Fatalf("%d requests carried %s, want %d: %v", len(lines), token, want, lines)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, s.access+" ") {
			t.Fatalf("signed by another key id: %q", l)
		}
	}
}

// containerEndpoint serves ECS / EKS Pod Identity credentials (the server's keys + token).
func containerEndpoint(t *testing.T, s server, token, requireAuth string) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	seen := []string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if requireAuth != "" && r.Header.Get("Authorization") != requireAuth {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": s.access, "SecretAccessKey": s.secret, "Token": token,
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestKeylessEnvironmentWithSessionToken(t *testing.T) {
	s, config, token := keylessCase(t, "go-env-")
	t.Setenv("AWS_ACCESS_KEY_ID", s.access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.secret)
	t.Setenv("AWS_SESSION_TOKEN", token)
	openKeyless(t, s, config, token, 2)
}

func TestKeylessContainerCredentials(t *testing.T) {
	s := testServer(t)
	for _, auth := range []string{"", "pod-identity-token"} {
		t.Run("auth="+auth, func(t *testing.T) {
			_, config, token := keylessCase(t, "go-container-")
			srv, seen := containerEndpoint(t, s, token, auth)
			t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/v2/credentials")
			if auth != "" {
				f := filepath.Join(t.TempDir(), "auth")
				must(t, os.WriteFile(f, []byte(auth), 0o600))
				t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", f)
			}
			openKeyless(t, s, config, token, 2)
			if len(*seen) != 1 || (*seen)[0] != auth {
				t.Fatalf("Authorization headers seen: %q", *seen)
			}
		})
	}
}

func TestKeylessEnvironmentWinsOverContainer(t *testing.T) {
	s, config, token := keylessCase(t, "go-prec-")
	srv, seen := containerEndpoint(t, s, token+"-container", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/creds")
	t.Setenv("AWS_ACCESS_KEY_ID", s.access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.secret)
	t.Setenv("AWS_SESSION_TOKEN", token)
	openKeyless(t, s, config, token, 2)
	if len(*seen) != 0 {
		t.Fatalf("the container endpoint was asked: %q", *seen)
	}
}

func TestKeylessNoSourceFailsFast(t *testing.T) {
	s := testServer(t)
	cleanChain(t)
	config := keylessVault(t, s)
	start := time.Now()
	_, err := OpenWith(context.Background(), config, testPassphrase)
	if !errors.Is(err, ErrS3Unreachable) {
		t.Fatalf("got %v, want ErrS3Unreachable", err)
	}
	if d := time.Since(start); d >= 2*time.Second {
		t.Fatalf("no source: failed after %v, want < 2 s", d)
	}
	for _, source := range []string{"AWS_ACCESS_KEY_ID", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "IMDSv2"} {
		if !strings.Contains(err.Error(), source) {
			t.Fatalf("%s not named in: %v", source, err)
		}
	}
}

// credsJSON is the server's keys with token, as container, IMDS and credential_process answer
// (the last names the session token "SessionToken").
func credsJSON(s server, token, tokenField string, extra map[string]any) []byte {
	m := map[string]any{"AccessKeyId": s.access, "SecretAccessKey": s.secret, tokenField: token,
		"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// writeFile writes content into the test's directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	must(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestKeylessProfileFileAndCredentialProcess(t *testing.T) {
	s := testServer(t)
	t.Run("profile file", func(t *testing.T) {
		_, config, token := keylessCase(t, "go-profile-")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", writeFile(t, "credentials",
			"[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[reader]\naws_access_key_id = "+
				s.access+"\naws_secret_access_key = "+s.secret+"\naws_session_token = "+token+"\n"))
		t.Setenv("AWS_PROFILE", "reader")
		openKeyless(t, s, config, token, 2)
	})
	t.Run("credential_process", func(t *testing.T) {
		_, config, token := keylessCase(t, "go-process-")
		out := writeFile(t, "creds.json", string(credsJSON(s, token, "SessionToken", map[string]any{"Version": 1})))
		t.Setenv("AWS_CONFIG_FILE", writeFile(t, "config", "[profile helper]\ncredential_process = cat "+out+"\n"))
		t.Setenv("AWS_PROFILE", "helper")
		openKeyless(t, s, config, token, 2)
	})
}

func TestKeylessWebIdentityThroughSTS(t *testing.T) {
	s, config, token := keylessCase(t, "go-web-identity-")
	var mu sync.Mutex // the handler runs on the server's goroutine
	var bodies []string
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		bodies = append(bodies, r.PostForm.Encode())
		mu.Unlock()
		_, _ = w.Write([]byte(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">` +
			`<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>` + s.access + `</AccessKeyId><SecretAccessKey>` +
			s.secret + `</SecretAccessKey><SessionToken>` + token + `</SessionToken><Expiration>` +
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `</Expiration></Credentials><AssumedRoleUser>` +
			`<Arn>arn:aws:sts::123456789012:assumed-role/reader/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId>` +
			`</AssumedRoleUser></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`))
	}))
	t.Cleanup(sts.Close)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", writeFile(t, "jwt", "the-projected-service-account-jwt"))
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/reader")
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	openKeyless(t, s, config, token, 2)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || !strings.Contains(bodies[0], "Action=AssumeRoleWithWebIdentity") ||
		!strings.Contains(bodies[0], "WebIdentityToken=the-projected-service-account-jwt") {
		t.Fatalf("STS requests: %q", bodies)
	}
}

func TestKeylessIMDSv2(t *testing.T) {
	s, config, token := keylessCase(t, "go-imds-")
	var mu sync.Mutex // the handler runs on the server's goroutine
	var first string
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first == "" {
			first = r.Method + " " + r.URL.Path
		}
		mu.Unlock()
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			w.Header().Set("x-aws-ec2-metadata-token-ttl-seconds", "21600") // the SDK needs the lifetime
			_, _ = w.Write([]byte("imds-session-token"))
		case r.Header.Get("x-aws-ec2-metadata-token") != "imds-session-token":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			_, _ = w.Write([]byte("reader-role"))
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/reader-role":
			_, _ = w.Write(credsJSON(s, token, "Token", map[string]any{"Code": "Success", "Type": "AWS-HMAC"}))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(imds.Close)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	openKeyless(t, s, config, token, 2)
	mu.Lock()
	defer mu.Unlock()
	if first != "PUT /latest/api/token" {
		t.Fatalf("first IMDS request: %q", first)
	}
}
