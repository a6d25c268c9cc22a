//go:build !vsync_system

package vsync

// Default: the library and header of this repository checkout
// (cargo build --release -p vsync-c writes target/release/libvsync_c.a).

/*
#cgo CFLAGS: -I${SRCDIR}/../c/include
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libvsync_c.a -ldl -lm -lpthread
*/
import "C"
