package codec

import (
	"os"
	"runtime"
	"sync"

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

// The best level's match tables (2 MiB short, 32 MiB long) are read at
// random before they are written. In memory fresh from the system each
// first read maps the kernel's shared zero page and the first write then
// replaces it, which flushes the TLB of every core running the process: an
// interrupt per core per page, costly in a virtual machine while the other
// cores are busy encoding too. On the 20x scaled corpus that was a fifth of
// ingest's CPU samples (perf), about 10% of its wall time. Memory the
// runtime takes back from the collector is cleared by writing before reuse,
// so prefaultEncoders writes a buffer the size of the tables, frees it,
// and builds the encoders in its place: their pages are then present and
// writable from the start. Bytes written do not change.
const encoderTables = 36 << 20

var prefaultOnce sync.Once

// prefaultEncoders builds n encoders as above (at most 4), once per
// process, all at once: built one at a time as blocks start encoding, the
// allocations of the blocks already encoding took the freed pages first
// (measured: a third more system time than this). Writers call it only
// when at least two blocks are coming, so a small file does not pay the
// ~20 ms it costs. The cap keeps a file of a few blocks on a many-core
// machine from building encoders it will not use (encoderTables each); the
// encoders past it are built as blocks need them, as before.
func prefaultEncoders(n int) {
	prefaultOnce.Do(func() {
		n = min(n, 4)
		b := make([]byte, n*encoderTables)
		for i := 0; i < len(b); i += os.Getpagesize() {
			b[i] = 1
		}
		runtime.KeepAlive(b)
		b = nil
		runtime.GC()
		encs := make([]*zstd.Encoder, n)
		for i := range encs {
			encs[i] = encoders.Get()
			encs[i].EncodeAll(nil, nil) // builds the tables
		}
		for _, e := range encs {
			encoders.Put(e)
		}
	})
}

var decoders = freelist.New(2*runtime.GOMAXPROCS(0), func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxPageRaw))
	if err != nil {
		panic(err)
	}
	return d
})
