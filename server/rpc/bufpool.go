package rpc

import (
	"math/bits"
	"sync"
)

// Buffer classes: powers of two from 4 KiB to proto.DataChunk (and up to
// the largest frame for encoded messages). A pooled buffer is at most twice
// the size asked for, so memory held by queued data frames stays within
// twice the credit granted; smaller requests get exact allocations.
const (
	minPoolShift = 12
	maxPoolShift = 23 // 8 MiB ≥ proto.MaxFrame + header
	nPoolClasses = maxPoolShift - minPoolShift + 1
)

// bufPool recycles frame buffers. It is safe for concurrent use.
type bufPool struct {
	classes [nPoolClasses]sync.Pool
}

func poolClass(n int) int {
	if n <= 1<<minPoolShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minPoolShift
}

// get returns a buffer of length n.
func (p *bufPool) get(n int) []byte {
	if n < 1<<minPoolShift/2 {
		return make([]byte, n)
	}
	c := poolClass(n)
	if c >= nPoolClasses {
		return make([]byte, n)
	}
	if v, ok := p.classes[c].Get().(*[]byte); ok {
		return (*v)[:n]
	}
	return make([]byte, n, 1<<(c+minPoolShift))
}

// put recycles b (which the caller no longer uses).
func (p *bufPool) put(b []byte) {
	c := cap(b)
	if c < 1<<minPoolShift || c&(c-1) != 0 {
		return
	}
	cl := poolClass(c)
	if cl >= nPoolClasses {
		return
	}
	b = b[:0]
	p.classes[cl].Put(&b)
}

// encBuf returns an empty buffer with room for a typical encoded message.
func (p *bufPool) encBuf() []byte { return p.get(4096)[:0] }
