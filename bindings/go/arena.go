package vsync

/*
#include <stdlib.h>
*/
import "C"

import (
	"strings"
	"unsafe"
)

// cArena owns the C memory of one call's arguments; free zeroes it (it may hold secrets).
type cArena struct {
	bufs []unsafe.Pointer
	lens []int
}

func (a *cArena) str(s string) *C.char {
	p := C.malloc(C.size_t(len(s) + 1))
	b := unsafe.Slice((*byte)(p), len(s)+1)
	copy(b, s)
	b[len(s)] = 0
	a.bufs = append(a.bufs, p)
	a.lens = append(a.lens, len(s)+1)
	return (*C.char)(p)
}

func (a *cArena) array(n int) **C.char {
	size := n * int(unsafe.Sizeof((*C.char)(nil)))
	if size == 0 {
		size = 1
	}
	p := C.calloc(1, C.size_t(size))
	a.bufs = append(a.bufs, p)
	a.lens = append(a.lens, size)
	return (**C.char)(p)
}

func (a *cArena) free() {
	for i, p := range a.bufs {
		clear(unsafe.Slice((*byte)(p), a.lens[i]))
		C.free(p)
	}
	a.bufs, a.lens = nil, nil
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }
