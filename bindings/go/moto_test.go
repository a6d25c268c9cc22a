//go:build vsync_testing

package vsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// moto is moto's server (S3, IAM and STS at one loopback endpoint; $VSYNC_MOTO_SERVER, which
// the test scripts install), checking no signature until authenticateAfter: from then on it
// checks each request as AWS does (an IAM or STS-issued key, its SigV4 signature, the session
// token STS issued with it, the role's policy).
type moto struct{ endpoint string }

func startMoto(t *testing.T) moto {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	must(t, l.Close())
	bin := os.Getenv("VSYNC_MOTO_SERVER")
	if bin == "" {
		bin = "moto_server"
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s could not be started (%v): pip install 'moto[server]'", bin, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); ; {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("moto_server did not listen within 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return moto{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

// call sends one request; service names the service in a placeholder Authorization header,
// which is how moto routes a request (and all it needs while it checks no signature).
func (m moto) call(t *testing.T, method, path, service, contentType, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, m.endpoint+path, strings.NewReader(body))
	must(t, err)
	if service != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/"+service+
			"/aws4_request, SignedHeaders=host, Signature=0")
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("moto: %s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out
}

// createRole creates a role web identity may assume, with policy inline; its ARN.
func (m moto) createRole(t *testing.T, name, policy string) string {
	t.Helper()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":` +
		`"arn:aws:iam::123456789012:oidc-provider/oidc.example"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	form := "application/x-www-form-urlencoded"
	m.call(t, "POST", "/", "iam", form, url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"},
		"RoleName": {name}, "AssumeRolePolicyDocument": {trust}}.Encode())
	m.call(t, "POST", "/", "iam", form, url.Values{"Action": {"PutRolePolicy"}, "Version": {"2010-05-08"},
		"RoleName": {name}, "PolicyName": {"vsync-reader"}, "PolicyDocument": {policy}}.Encode())
	return "arn:aws:iam::123456789012:role/" + name
}

// authenticateAfter makes moto check every request from the n-th next one on. n = 1 lets
// exactly STS's AssumeRoleWithWebIdentity through unchecked: AWS takes it unsigned, moto would not.
func (m moto) authenticateAfter(t *testing.T, n int) {
	t.Helper()
	m.call(t, "POST", "/moto-api/reset-auth", "", "text/plain", fmt.Sprint(n))
}

// assumedRoles lists the roles STS issued credentials for, in order.
func (m moto) assumedRoles(t *testing.T) []string {
	t.Helper()
	var data struct {
		STS struct {
			AssumedRole []struct {
				RoleARN string `json:"role_arn"`
			}
		} `json:"sts"`
	}
	must(t, json.Unmarshal(m.call(t, "GET", "/moto-api/data.json", "", "", ""), &data))
	var arns []string
	for _, r := range data.STS.AssumedRole {
		arns = append(arns, r.RoleARN)
	}
	return arns
}

// readmeReaderPolicy is the reader's IAM policy exactly as README.md's trust section shows it.
func readmeReaderPolicy(t *testing.T, bucket, prefix string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	must(t, err)
	for _, block := range strings.Split(string(readme), "```json\n")[1:] {
		if policy, _, _ := strings.Cut(block, "```"); strings.Contains(policy, "s3:GetObject") {
			return strings.NewReplacer("<bucket>", bucket, "<prefix>", prefix).Replace(policy)
		}
	}
	t.Fatal("README.md shows no reader policy in a ```json block")
	return ""
}

// Web identity with moto as STS and as the store: the read succeeds only if signed with the
// secret and session token STS issued for the role, and only as far as the README's policy allows.
func TestKeylessWebIdentityThroughMotoSTS(t *testing.T) {
	dev := testServer(t)
	cleanChain(t)
	m := startMoto(t)
	m.call(t, "PUT", "/vault", "s3", "", "")
	reader := m.createRole(t, "reader", readmeReaderPolicy(t, "vault", "app/"))
	elsewhere := m.createRole(t, "elsewhere", readmeReaderPolicy(t, "vault", "other-app/"))
	store := server{endpoint: m.endpoint, access: "writer", secret: "writer-secret", bucket: "vault", bin: dev.bin}
	config := keylessVaultAt(t, store, "app/")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", writeFile(t, "jwt", "the-projected-service-account-jwt"))
	t.Setenv("AWS_ENDPOINT_URL_STS", m.endpoint)

	t.Setenv("AWS_ROLE_ARN", reader)
	m.authenticateAfter(t, 1)
	v, err := OpenWith(context.Background(), config, testPassphrase)
	must(t, err)
	if got, _ := v.GetEnv("DATABASE_URL"); got != "postgres://app@db/dev" {
		t.Fatalf("DATABASE_URL = %q", got)
	}
	v.Close()
	if got := m.assumedRoles(t); !reflect.DeepEqual(got, []string{reader}) {
		t.Fatalf("assumed roles: %q", got)
	}

	t.Setenv("AWS_ROLE_ARN", elsewhere)
	m.authenticateAfter(t, 1)
	_, err = OpenWith(context.Background(), config, testPassphrase)
	if !errors.Is(err, ErrS3Unreachable) || !strings.Contains(err.Error(), "(403 AccessDenied) to the credentials of web identity") ||
		!strings.Contains(err.Error(), "s3:GetObject") {
		t.Fatalf("got %v, want ErrS3Unreachable naming web identity and s3:GetObject", err)
	}
	if got := m.assumedRoles(t); !reflect.DeepEqual(got, []string{reader, elsewhere}) {
		t.Fatalf("assumed roles: %q", got)
	}
}
