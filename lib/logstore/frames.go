package logstore

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/meguri/meguri/lib/extsort"
)

// A captures frame's payload is
//
//	0 count of captures, uint32 LE
//	4 their encoded size, uint32 LE
//	8 one zstd frame (with its content size) of the encoded captures
//
// The log is compressed with zstd's fastest level: a run's append costs
// little more than writing the bytes, and the log takes about a fifth of
// the room (5.6 MB -> 1.3 MB for the corpus).
const (
	capturesPrefix = 8
	maxFrameRaw    = 1 << 30 // encoded captures a frame may hold
)

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	decOnce sync.Once
	dec     *zstd.Decoder
)

func encoder() *zstd.Encoder {
	encOnce.Do(func() {
		var err error
		enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
			zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
		if err != nil {
			panic(err)
		}
	})
	return enc
}

func decoder() *zstd.Decoder {
	decOnce.Do(func() {
		var err error
		dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxFrameRaw))
		if err != nil {
			panic(err)
		}
	})
	return dec
}

// appendCaptures appends a sealed captures frame holding b to dst; raw is
// scratch for the encoded captures, returned for reuse.
func appendCaptures(dst, raw []byte, b *extsort.Batch) (frame, scratch []byte, err error) {
	raw = b.AppendEncoded(raw[:0])
	if len(raw) > maxFrameRaw {
		return dst, raw, fmt.Errorf("a batch of %d bytes of captures is too large for one log frame", len(raw))
	}
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize)...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(b.Len()))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(raw)))
	dst = encoder().EncodeAll(raw, dst)
	return sealFrame(dst, start, kindCaptures), raw, nil
}

// captureCount returns the count a captures payload declares.
func captureCount(p []byte) int64 { return int64(binary.LittleEndian.Uint32(p)) }

// decodeCaptures decodes a captures payload, checking its declared count
// and size against what it holds.
func decodeCaptures(p []byte) (extsort.Batch, error) {
	count, size := binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:])
	var h zstd.Header
	if err := h.Decode(p[capturesPrefix:]); err != nil {
		return extsort.Batch{}, fmt.Errorf("captures: %w", err)
	}
	// Small frames carry no content size.
	if (h.HasFCS && h.FrameContentSize != uint64(size)) || size > maxFrameRaw {
		return extsort.Batch{}, fmt.Errorf("captures: zstd frame does not hold the %d bytes the frame says", size)
	}
	// (a frame without a content size is believed only as far as it
	// decodes: the buffer grows past 64 MiB as the bytes arrive)
	raw, err := decoder().DecodeAll(p[capturesPrefix:], make([]byte, 0, min(size, 64<<20)))
	if err != nil {
		return extsort.Batch{}, fmt.Errorf("captures: %w", err)
	}
	if len(raw) != int(size) {
		return extsort.Batch{}, fmt.Errorf("captures: %d bytes, frame says %d", len(raw), size)
	}
	b, err := extsort.DecodeBatch(raw)
	if err != nil {
		return b, err
	}
	if uint32(b.Len()) != count {
		return b, fmt.Errorf("frame says %d captures but holds %d", count, b.Len())
	}
	return b, nil
}
