package codec

import (
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// pool keeps up to a fixed number of idle values for reuse. Unlike a
// sync.Pool it does not drop them at every garbage collection: a zstd
// encoder at the best level costs about 40 MiB to build, and rebuilding
// them after collections was 15% of what a merge allocated.
type pool[T any] struct {
	idle  chan T
	build func() T
}

func newPool[T any](build func() T) *pool[T] {
	return &pool[T]{idle: make(chan T, 2*runtime.GOMAXPROCS(0)), build: build}
}

func (p *pool[T]) get() T {
	select {
	case v := <-p.idle:
		return v
	default:
		return p.build()
	}
}

func (p *pool[T]) put(v T) {
	select {
	case p.idle <- v:
	default:
	}
}

var encoders = newPool(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(1<<22))
	if err != nil {
		panic(err)
	}
	return e
})

var decoders = newPool(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		panic(err)
	}
	return d
})
