package cdx

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/bytedance/sonic"

	"github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/internal/freelist"
)

// Batch is a run of consecutive lines of one input, handed to a worker as
// one unit.
type Batch struct {
	Source  string  // input name, for messages
	Data    []byte  // the lines, without their newlines, back to back
	Ends    []int   // end offset of each line in Data
	TooLong []bool  // per line: cut at the line limit
	Nums    []int64 // per line: its 1-based line number in Source
	Bytes   int64   // decompressed input bytes the batch covers, newlines included
	// Raw is the bytes read from the inputs as they are stored
	// (compressed, when they are) up to the batch's end, over every input
	// so far: against their total size, how far the run has come. The
	// decompressor's read-ahead makes it run a little early.
	Raw int64
	// Layout is the fields of the batch's space-separated lines and
	// Wayback JSON rows, as CDX legend letters (see layouts): what the
	// input's last legend line or header row named, or else
	// PipelineConfig.Layout; "" reads each line by its field count. A
	// legend that changes it starts a new batch.
	Layout string
	// Unterminated is set on the last batch of an input whose last line
	// has no newline and input.LooksCut: a stream cut short ends so, in a
	// line that may then be read as a shorter URL or value than it was.
	Unterminated bool
	Result       any // set by the work function
	ready        chan struct{}
}

// Line returns line i of the batch.
func (b *Batch) Line(i int) []byte {
	start := 0
	if i > 0 {
		start = b.Ends[i-1]
	}
	return b.Data[start:b.Ends[i]]
}

// PipelineConfig sizes a Pipeline.
type PipelineConfig struct {
	MaxLine    int // longest line kept whole; longer ones are cut and flagged
	BatchBytes int // bytes of lines in a batch
	Workers    int // goroutines running the work function
	// Fingerprint, when set, is called with each input read to its end:
	// its name (<stdin> for stdin), and the xxHash64 (seed 0) and length
	// of its content, the bytes read after decompression.
	Fingerprint func(name string, hash uint64, size int64)
	// Skip, when set, gives for an input (by the name given) the bytes
	// at its start whose lines (each line that starts in them) are read
	// but not passed on, a legend among them still setting the layout:
	// what a directory has committed before of an input that has grown
	// since.
	Skip func(name string) int64
	// Layout is the layout of each input's lines until a legend line or
	// header row names one (FieldsLayout); "" reads them by field count.
	Layout string
	// Verbatim refuses a legend or header row that names a layout other
	// than reading by count: a run that passes lines on as they are
	// (meguri-route split) would part them from it, and misread them.
	Verbatim bool
}

// maxBatches bounds the batches alive at once: those queued for workers
// and for collect (2 per worker each), one per worker at work, one being
// filled and one being collected.
func (c PipelineConfig) maxBatches() int {
	w := max(c.Workers, 1)
	return 5*w + 2
}

// batchSlack is what a batch holds past BatchBytes: its room for the line
// that crosses it.
const batchSlack = 4096

// Memory bounds the bytes of line batches a Pipeline holds at once (lines
// longer than BatchBytes can stretch one batch up to MaxLine more).
func (c PipelineConfig) Memory() int64 {
	return int64(c.maxBatches()) * int64(c.BatchBytes+batchSlack)
}

// BatchBytesWithin is the largest BatchBytes whose batches, c.Workers
// parsing them, hold at most mem bytes at once (Memory), and never less
// than 4 KiB.
func (c PipelineConfig) BatchBytesWithin(mem int64) int {
	return int(max(4<<10, mem/int64(c.maxBatches())-batchSlack))
}

// Pipeline reads the inputs ("-" is stdin) in batches, runs work on
// batches in parallel, and hands them to collect one at a time in input
// order. The worker argument (0 to Workers-1) says which goroutine runs
// work, for state of its own such as a Parser.Worker. When collect returns
// an error the reading stops and Pipeline returns that error; otherwise it
// returns the first read error, naming the input and line.
//
// Batches are reused once collect returns, so neither work nor collect may
// keep b.Data, a line, or a string that aliases them (the JSON decoder
// returns strings that point into the line) past collect.
func Pipeline(inputs []string, cfg PipelineConfig, work func(worker int, b *Batch), collect func(*Batch) error) error {
	if err := checkInputs(inputs); err != nil {
		return err
	}
	workers := max(cfg.Workers, 1)
	batches := make(chan *Batch, workers*2)
	ordered := make(chan *Batch, workers*2)
	// Recycling batches keeps the garbage (and so the peak resident size)
	// independent of how much input goes through.
	free := freelist.New(cfg.maxBatches(), func() *Batch { return &Batch{Data: make([]byte, 0, cfg.BatchBytes+batchSlack)} })
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(batches)
		defer close(ordered)
		readErr = readAll(inputs, cfg, free, batches, ordered, stop)
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				work(i, b)
				close(b.ready)
			}
		}()
	}
	var err error
	for b := range ordered {
		<-b.ready
		if err != nil {
			continue
		}
		if err = collect(b); err != nil {
			close(stop)
			continue
		}
		free.Put(b)
	}
	wg.Wait()
	if err != nil {
		return err
	}
	return readErr
}

// checkInputs refuses a named input that is missing or a directory before
// any is read: inputs are opened one after another, and the last of 300
// shards should not be found missing an hour into a run.
func checkInputs(inputs []string) error {
	for _, name := range inputs {
		if err := input.CheckInput(name); err != nil {
			return err
		}
	}
	return nil
}

func readAll(inputs []string, cfg PipelineConfig, free *freelist.List[*Batch], work, ordered chan<- *Batch, stop <-chan struct{}) error {
	var raw int64 // read by this goroutine alone
	for _, name := range inputs {
		in, err := input.OpenCounting(name, &raw)
		if err != nil {
			return err
		}
		if cfg.Fingerprint != nil {
			in.Hash()
		}
		var skip int64
		if cfg.Skip != nil {
			skip = cfg.Skip(name)
		}
		err = readInput(in, skip, cfg, free, work, ordered, stop, &raw)
		in.Close()
		if err != nil {
			return err
		}
		if cfg.Fingerprint != nil {
			hash, size := in.Fingerprinted()
			cfg.Fingerprint(in.Name, hash, size)
		}
	}
	return nil
}

// errStopped ends the reading when collect has failed; Pipeline returns
// collect's error instead.
var errStopped = errors.New("stopped")

func readInput(in *input.Input, skip int64, cfg PipelineConfig, free *freelist.List[*Batch], work, ordered chan<- *Batch, stop <-chan struct{}, raw *int64) error {
	lr := input.NewLineReader(in, cfg.MaxLine)
	defer lr.Close()
	batchBytes := cfg.BatchBytes
	var last int64
	layout := cfg.Layout
	newBatch := func() *Batch {
		b := free.Get()
		*b = Batch{Source: in.Name, Data: b.Data[:0], Ends: b.Ends[:0], TooLong: b.TooLong[:0], Nums: b.Nums[:0],
			Layout: layout, ready: make(chan struct{})}
		return b
	}
	// b is the batch being filled, taken only once a line comes: one
	// taken for nothing at the end of each input was a batch buffer's
	// allocation per input, most of the time of a run over thousands of
	// one-line files.
	var b *Batch
	send := func() bool {
		b.Bytes = lr.Offset() - last
		b.Raw = *raw
		last = lr.Offset()
		select {
		case work <- b:
		case <-stop:
			return false
		}
		ordered <- b
		b = nil
		return true
	}
	for {
		start := lr.Offset()
		line, num, tooLong, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", in.Name, num, err)
		}
		if l, ok, err := legendLayout(line, cfg.Verbatim); err != nil {
			return fmt.Errorf("%s: line %d: %w", in.Name, num, err)
		} else if ok && l != layout {
			// the lines after it are read by the new layout, in a
			// batch of their own (the legend itself is rejected,
			// whichever batch holds it)
			if b != nil && !send() {
				return errStopped
			}
			layout = l
		}
		if start < skip {
			continue
		}
		if b == nil {
			b = newBatch()
		}
		b.Data = append(b.Data, line...)
		b.Ends = append(b.Ends, len(b.Data))
		b.TooLong = append(b.TooLong, tooLong)
		b.Nums = append(b.Nums, num)
		if len(b.Data) >= batchBytes {
			if !send() {
				return errStopped
			}
		}
	}
	if b != nil {
		b.Unterminated = lr.Unterminated() && input.LooksCut(b.Line(len(b.Ends)-1))
		send()
	}
	return nil
}

// legendLayout reads a CDX legend line or a Wayback JSON header row
// (ok), returning the layout it names (see checkLayout). It refuses one
// whose lines meguri cannot read; and with verbatim, one that names a
// layout other than reading by count.
func legendLayout(line []byte, verbatim bool) (layout string, ok bool, err error) {
	line = bytes.TrimLeft(bytes.TrimPrefix(line, bom), " \t")
	if len(line) < 3 || line[0] != 'C' && line[0] != '[' {
		return "", false, nil
	}
	var named string // the legend or header, for messages
	if line[0] == '[' {
		if line[1] != '[' {
			return "", false, nil // a row of the array, not its start
		}
		vals, header, _ := arrayRow(line)
		if !header {
			return "", false, nil
		}
		named = fmt.Sprintf("Wayback JSON header %q", vals)
		layout, err = FieldsLayout(vals)
	} else {
		letters, isLegend := isLegend(line)
		if !isLegend {
			return "", false, nil
		}
		named = fmt.Sprintf("CDX legend %q", spaced(letters))
		layout, err = checkLayout(letters)
		for _, f := range bytes.Fields(line[3:]) {
			if len(f) != 1 {
				named = fmt.Sprintf("CDX legend %q", bytes.TrimSpace(line[3:]))
				err = fmt.Errorf("%w: %q is no legend letter", ErrLayout, f)
				break
			}
		}
	}
	if err != nil {
		return "", true, fmt.Errorf("%s: %w", named, err)
	}
	if verbatim && layout != "" {
		return "", true, fmt.Errorf("%s names fields that the lines after it are read by, and passed on as they are they would part from it and be misread: ingest them first and split the .meguri stream (meguri-ingest FILE | meguri-route split ...)", named)
	}
	return layout, true, nil
}

// spaced spells legend letters as a legend line does.
func spaced(letters string) string {
	return strings.Join(strings.Split(letters, ""), " ")
}

// IsBlank reports whether a line holds only spaces, tabs and a carriage
// return.
func IsBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// RejectLine is one line of a rejects file (--rejects): the rejected line
// verbatim with where it came from and why. JSON strings hold only UTF-8,
// so a line that is not valid UTF-8 also comes as TextBase64, its exact
// bytes (Text then shows each invalid byte as U+FFFD).
type RejectLine struct {
	Source     string `json:"source"`
	Line       int64  `json:"line"`
	Reason     string `json:"reason"`
	Text       string `json:"text"`
	TextBase64 string `json:"text_base64,omitempty"`
	Truncated  bool   `json:"truncated,omitempty"`
}

// Bytes returns the rejected line's exact bytes.
func (rl *RejectLine) Bytes() ([]byte, error) {
	if rl.TextBase64 != "" {
		return base64.StdEncoding.DecodeString(rl.TextBase64)
	}
	return []byte(rl.Text), nil
}

// WriteReject writes one rejected line as a JSON line.
func WriteReject(w *bufio.Writer, src string, line int64, reason Reason, text []byte) {
	rl := RejectLine{Source: src, Line: line, Reason: reason.String(), Text: string(text), Truncated: reason == TooLong}
	if !utf8.Valid(text) {
		rl.TextBase64 = base64.StdEncoding.EncodeToString(text)
	}
	b, err := sonic.ConfigStd.Marshal(&rl)
	if err != nil {
		b, _ = sonic.ConfigStd.Marshal(&RejectLine{Source: src, Line: line, Reason: reason.String()})
	}
	w.Write(b)
	w.WriteByte('\n')
}
