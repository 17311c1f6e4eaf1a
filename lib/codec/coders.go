package codec

import (
	"runtime"

	"github.com/klauspost/compress/zstd"

	"github.com/meguri/meguri/lib/internal/freelist"
)

// Idle zstd coders, two per CPU: an encoder at the best level costs about
// 40 MiB to build, and rebuilding them after collections (as a sync.Pool
// would) was 15% of what a merge allocated.
var encoders = freelist.New(2*runtime.GOMAXPROCS(0), func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(1<<22))
	if err != nil {
		panic(err)
	}
	return e
})

var decoders = freelist.New(2*runtime.GOMAXPROCS(0), func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		panic(err)
	}
	return d
})
