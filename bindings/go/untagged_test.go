//go:build !vsync_testing

package vsync

import (
	"fmt"
	"os"
	"testing"
)

// The tests drive the conformance hooks, which only a test build has: they are compiled with
// -tags vsync_testing against a library built with the `testing-hooks` feature. Without the
// tag, fail loudly instead of passing with no test run.
func TestMain(m *testing.M) {
	fmt.Fprintln(os.Stderr, "bindings/go: the tests need -tags vsync_testing and a vsync-c built with "+
		"--features testing-hooks (scripts/test-go.sh does both)")
	os.Exit(2)
}
