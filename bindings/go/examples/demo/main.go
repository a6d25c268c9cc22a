// Command demo prints what the Go binding reads from a vault (scripts/demo-go.sh). It opens
// with the plain Open (VSYNC_CONFIG / VSYNC_PASSPHRASE from the environment); being a demo
// with sample data, it prints values.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	vsync "github.com/muthuishere/vsync-s3-client/bindings/go"
)

func main() {
	defaults := map[string]string{}
	for _, kv := range split(os.Getenv("VSYNC_DEMO_DEFAULTS")) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			defaults[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := vsync.Open(ctx, vsync.WithDefaults(defaults))
	if err != nil {
		fmt.Fprintln(os.Stderr, "[go]", err)
		os.Exit(1)
	}
	defer v.Close()
	fmt.Printf("[go] generation=%d\n", v.Generation())
	for _, key := range split(os.Getenv("VSYNC_DEMO_KEYS")) {
		value, ok := v.GetEnv(key)
		if !ok {
			value = "<none>"
		}
		fmt.Printf("[go] %s=%s (%s)\n", key, value, v.EnvSource(key))
	}
	if name := os.Getenv("VSYNC_DEMO_ASSET"); name != "" {
		b, err := v.GetAsContent(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "[go]", err)
			os.Exit(1)
		}
		sum := sha256.Sum256(b)
		fmt.Printf("[go] asset %s: %d bytes, sha256 %s\n", name, len(b), hex.EncodeToString(sum[:])[:12])
	}
	fresh, err := v.HasNewVersion(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "[go]", err)
		os.Exit(1)
	}
	fmt.Printf("[go] has_new_version=%v\n", fresh)
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
