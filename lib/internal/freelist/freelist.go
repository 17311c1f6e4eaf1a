// Package freelist keeps up to a fixed number of idle values for reuse.
// Unlike a sync.Pool it does not drop them at every garbage collection, so
// what a long run allocates stays bounded by what it holds at once, not by
// how much input goes through it.
//
//	bufs := freelist.New(8, func() []byte { return make([]byte, 0, 64<<10) })
//	b := bufs.Get()[:0]
//	...
//	bufs.Put(b)
package freelist

// List is a bounded free list; it is safe for concurrent use.
type List[T any] struct {
	idle  chan T
	build func() T
}

// New returns a list that keeps up to n idle values and builds a new one
// with build when none is idle.
func New[T any](n int, build func() T) *List[T] {
	return &List[T]{idle: make(chan T, n), build: build}
}

// Get returns an idle value, or a new one.
func (l *List[T]) Get() T {
	select {
	case v := <-l.idle:
		return v
	default:
		return l.build()
	}
}

// Put keeps v for reuse, or drops it when the list is full.
func (l *List[T]) Put(v T) {
	select {
	case l.idle <- v:
	default:
	}
}
