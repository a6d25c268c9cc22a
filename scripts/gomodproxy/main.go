// Command gomodproxy writes one module version into a file GOPROXY directory (the layout that
// `GOPROXY=file:///DIR` reads: <module>/@v/list, <version>.info, .mod and .zip), building the
// zip with golang.org/x/mod/zip exactly as the go command and the public proxy do (the same file
// rules and size limits, so what works here works from the real proxy).
//
//	go run . -module github.com/x/y/bindings/go -version v1.2.3 -dir STAGED_MODULE_DIR -out PROXY_DIR [-time RFC3339]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

func main() {
	modPath := flag.String("module", "", "module path")
	version := flag.String("version", "", "version (vX.Y.Z)")
	dir := flag.String("dir", "", "module root to zip (holds go.mod)")
	out := flag.String("out", "", "proxy directory")
	stamp := flag.String("time", "", "version time, RFC 3339 (default: now)")
	flag.Parse()
	if err := run(*modPath, *version, *dir, *out, *stamp); err != nil {
		fmt.Fprintln(os.Stderr, "gomodproxy:", err)
		os.Exit(1)
	}
}

func run(modPath, version, dir, out, stamp string) error {
	if modPath == "" || dir == "" || out == "" || !semver.IsValid(version) {
		return fmt.Errorf("need -module, -dir, -out and a valid -version (got %q)", version)
	}
	mv := module.Version{Path: modPath, Version: version}
	if err := module.Check(mv.Path, mv.Version); err != nil {
		return err
	}
	t := time.Now().UTC()
	if stamp != "" {
		var err error
		if t, err = time.Parse(time.RFC3339, stamp); err != nil {
			return err
		}
	}
	escPath, err := module.EscapePath(mv.Path)
	if err != nil {
		return err
	}
	escVer, err := module.EscapeVersion(mv.Version)
	if err != nil {
		return err
	}
	vdir := filepath.Join(out, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}

	zf, err := os.Create(filepath.Join(vdir, escVer+".zip"))
	if err != nil {
		return err
	}
	if err := modzip.CreateFromDir(zf, mv, dir); err != nil {
		zf.Close()
		return err
	}
	if err := zf.Close(); err != nil {
		return err
	}

	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, escVer+".mod"), gomod, 0o644); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{mv.Version, t})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, escVer+".info"), append(info, '\n'), 0o644); err != nil {
		return err
	}

	// list: every version present, one per line, in semver order.
	listFile := filepath.Join(vdir, "list")
	var versions []string
	if b, err := os.ReadFile(listFile); err == nil {
		for _, v := range strings.Fields(string(b)) {
			if v != mv.Version {
				versions = append(versions, v)
			}
		}
	}
	versions = append(versions, mv.Version)
	slices.SortFunc(versions, semver.Compare)
	return os.WriteFile(listFile, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}
