//go:build vsync_system

package vsync

// With -tags vsync_system the header and library come from the environment, for a module
// fetched with `go get` (the module cache holds no Rust build):
//
//	CGO_CFLAGS="-I/path/to/vsync/bindings/c/include"
//	CGO_LDFLAGS="/path/to/vsync/target/release/libvsync_c.a"   # or -L<dir> -lvsync_c

/*
#cgo LDFLAGS: -ldl -lm -lpthread
*/
import "C"
