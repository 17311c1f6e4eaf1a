// Package minheap is a typed binary min-heap: container/heap boxes every
// element it moves into an interface, an allocation per push in a k-way
// merge.
//
//	h := minheap.New(func(a, b int) bool { return a < b })
//	h.Push(3)
//	h.Push(1)
//	x := h.Pop() // 1
package minheap

// Heap holds elements ordered by less; the least is at the top.
type Heap[T any] struct {
	items []T
	less  func(a, b T) bool
}

// New returns an empty heap ordered by less.
func New[T any](less func(a, b T) bool) *Heap[T] { return &Heap[T]{less: less} }

// Len returns the number of elements.
func (h *Heap[T]) Len() int { return len(h.items) }

// Top returns the least element without removing it; the heap must not be
// empty.
func (h *Heap[T]) Top() T { return h.items[0] }

// Push adds x.
func (h *Heap[T]) Push(x T) {
	h.items = append(h.items, x)
	a := h.items
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(a[i], a[p]) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

// Pop removes and returns the least element; the heap must not be empty.
func (h *Heap[T]) Pop() T {
	a := h.items
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h.less(a[l], a[m]) {
			m = l
		}
		if r := l + 1; r < n && h.less(a[r], a[m]) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	h.items = a
	return top
}
