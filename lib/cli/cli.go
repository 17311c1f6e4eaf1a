// Package cli holds what the meguri binaries share around their flags:
// exit handling (1 for a failed run, 2 for a usage error, 0 quietly on a
// closed pipe, a failed write to stdout caught at the end), the checks on
// inputs and outputs made before any input is read (an output over an
// input or over another partition's file, an input named twice, text over
// a .meguri, a .meguri to a terminal), terminal detection for progress
// lines, and the --version line.
package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/meguri/meguri/lib/atomicfile"
	"github.com/meguri/meguri/lib/canon"
	cdxinput "github.com/meguri/meguri/lib/cdx/input"
	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/internal/dirs"
	"github.com/meguri/meguri/lib/internal/memlimit"
	"github.com/meguri/meguri/lib/internal/tempfiles"
	"github.com/meguri/meguri/lib/internal/twins"
	"github.com/meguri/meguri/lib/manifest"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

// Kong returns the options every meguri binary parses its flags with. A
// usage error (unknown flag, bad value) prints the error and a pointer to
// --help on stderr, never the usage on stdout, which carries data only, and
// exits 2; --help prints to stdout and exits 0, and so does --version (for
// a command that embeds VersionFlag).
//
// Numbers are decimal: kong alone reads them as Go literals, so
// --partition-id 0010 (the id as a file name part-0010.meguri spells it)
// was partition 8, and 0009 an error. A leading 0x still means hex.
//
// commands are the tool's subcommands, if any: a usage error in one
// points to its own --help.
func Kong(name, description string, commands ...string) []kong.Option {
	opts := []kong.Option{kong.Name(name), kong.Description(description), kong.Writers(pipeOut{}, os.Stderr), kong.Vars{"version": Version(name)}, kong.Exit(func(code int) {
		if code == usageExit {
			help := name
			if len(os.Args) > 1 && slices.Contains(commands, os.Args[1]) {
				help += " " + os.Args[1]
			}
			fmt.Fprintf(os.Stderr, "%s: see %s --help\n", name, help)
			code = 2
		}
		os.Exit(code)
	})}
	for _, k := range []reflect.Kind{reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64} {
		opts = append(opts, kong.KindMapper(k, decimal(true)))
	}
	for _, k := range []reflect.Kind{reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64} {
		opts = append(opts, kong.KindMapper(k, decimal(false)))
	}
	return opts
}

// decimal maps a flag's value to a signed or unsigned integer of the
// target's width: decimal digits (leading zeros and all), or hex after 0x.
func decimal(signed bool) kong.MapperFunc {
	return func(ctx *kong.DecodeContext, target reflect.Value) error {
		t, err := ctx.Scan.PopValue("number")
		if err != nil {
			return err
		}
		s := fmt.Sprint(t.Value)
		bits := target.Type().Bits()
		digits, base := s, 10
		if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
			digits, base = h, 16
		}
		if signed {
			n, err := strconv.ParseInt(digits, base, bits)
			if err != nil {
				return fmt.Errorf("want a whole number, not %q", s)
			}
			target.SetInt(n)
			return nil
		}
		n, err := strconv.ParseUint(digits, base, bits)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return fmt.Errorf("%q is too large (at most %d)", s, uint64(1)<<bits-1)
			}
			return fmt.Errorf("want a whole number of 0 or more, not %q", s)
		}
		target.SetUint(n)
		return nil
	}
}

// pipeOut is stdout for --help: a reader that has seen enough and closed
// the pipe (`meguri-compact --help | head`) ends the run quietly, as it
// does for data.
type pipeOut struct{}

func (pipeOut) Write(b []byte) (int, error) {
	n, err := os.Stdout.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		os.Exit(0)
	}
	return n, err
}

// Stdout is stdout for what a tool prints line by line with fmt (a
// summary, a map, a report). It keeps the first write error, so that a
// tool checks once, at its end, with Stdout.Err: a full disk under
// `meguri-route --manifest m > map.txt` fails the run instead of leaving a
// short file behind an exit status of 0.
var Stdout = &stickyWriter{}

type stickyWriter struct{ err error }

func (w *stickyWriter) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := os.Stdout.Write(b)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Err returns the first error a write to Stdout met, if any.
func (w *stickyWriter) Err() error { return w.err }

// usageExit is the status kong exits with on a usage error.
const usageExit = 80

// Size is a byte-size flag (512M, 1G, 64KiB ...). Kong parses it with the
// other flags, so a bad value is refused naming its flag.
type Size int64

// UnmarshalText parses s with units.ParseSize. Every size flag is an
// amount (a budget, a line limit), so 0 is refused rather than read as
// "the default" or "none"; so is a bare number under 1024, which is bytes
// but most likely meant a unit (--mem 512 spilled a run every few lines).
func (s *Size) UnmarshalText(b []byte) error {
	n, err := units.ParseSize(string(b))
	switch t := strings.TrimSpace(string(b)); {
	case err != nil:
	case n == 0:
		err = fmt.Errorf("bad size %q: must be more than 0", b)
	case n < 1024 && t != "" && t[len(t)-1] >= '0' && t[len(t)-1] <= '9':
		err = fmt.Errorf("bad size %q: a bare number is bytes; give a unit (%sM, %sK, or %sB for bytes)", b, t, t, t)
	}
	*s = Size(n)
	return err
}

// GroupingFlag is the --grouping flag of the tools that key URLs; embed it
// in a command's flags.
type GroupingFlag struct {
	Grouping GroupingName `placeholder:"domain|host" help:"Host grouping for host keys: the registrable domain or the full host. Default: the grouping the manifest records (balance writes it), else domain; route and ingest must agree."`
}

// GroupingName is a --grouping value: "domain", "host", or "" when the
// flag was not given.
type GroupingName string

// UnmarshalText takes domain or host.
func (g *GroupingName) UnmarshalText(b []byte) error {
	switch s := string(b); s {
	case "domain", "host":
		*g = GroupingName(s)
		return nil
	}
	return fmt.Errorf("%q is neither domain nor host", b)
}

// Value returns the grouping the flag names (domain when not given).
func (g GroupingFlag) Value() canon.Grouping {
	if g.Grouping == "host" {
		return canon.ByHost
	}
	return canon.ByDomain
}

// FromManifest settles the grouping of a run that keys lines for the map
// m (read from name): the one m records when the flag was not given, and
// an error when the flag names another. m's ranges were cut on its keys:
// lines keyed otherwise would go to partitions that do not own them (an
// ingest of such a part rejects them out_of_range), or, balanced, to
// ranges far from equal.
func (g *GroupingFlag) FromManifest(m *manifest.Manifest, name string) error {
	switch {
	case m.Grouping == "":
	case g.Grouping == "":
		g.Grouping = GroupingName(m.Grouping)
	case string(g.Grouping) != m.Grouping:
		return fmt.Errorf("--grouping %s, but %s was cut on host keys of grouping %s (its %q line): lines keyed by %s would go to partitions that do not own them; leave --grouping out to key them as the map does",
			g.Grouping, name, m.Grouping, manifest.GroupingLine+m.Grouping, g.Grouping)
	}
	return nil
}

// HostKey reads the value of flag (--host, say): a host key (units.ParseKey)
// as it is, or a host name or URL keyed as ingest keys its URLs under
// grouping g (canonicalized, then its registrable domain or full host).
// group is the grouping string, "" when s was a key.
func HostKey(flag, s string, g canon.Grouping) (key uint64, group string, err error) {
	if k, err := units.ParseKey(s); err == nil {
		return k, "", nil
	}
	raw := strings.TrimSpace(s)
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw + "/"
	}
	u, err := canon.Canonicalize(raw)
	if err != nil {
		return 0, "", fmt.Errorf("%s %.200q is neither a host key (0x + hex, 16 hex digits, or decimal) nor a host name: %v", flag, s, err)
	}
	host, _, _ := canon.HostOf(u)
	group = canon.GroupOf(host, g)
	return canon.KeyOfHost(host, g), group, nil
}

// URL canonicalizes a URL given as the value of flag, wording the error
// for the person who typed it: one without a scheme (www.example.com/)
// is told the spellings that would work.
func URL(flag, s string) (string, error) {
	u, err := canon.Canonicalize(s)
	if err == nil {
		return u, nil
	}
	if t := strings.TrimSpace(s); errors.Is(err, canon.ErrNotURL) && canon.MissingScheme(t) {
		return "", fmt.Errorf("%s %.200q: %w: no scheme (give http://%.200s or https://%.200s)", flag, s, err, t, t)
	}
	return "", fmt.Errorf("%s %.200q: %w", flag, s, err)
}

// Now reads a --now value: a 14-digit CDX timestamp or an ISO time to the
// second, or the current time when s is "".
func Now(s string) (int64, error) {
	if s == "" {
		return time.Now().Unix(), nil
	}
	typed := s
	if d, ok := fromISO(s); ok && len(d) == 14 {
		s = d
	}
	if len(s) != 14 {
		return 0, fmt.Errorf("--now %q: want a 14-digit timestamp YYYYMMDDhhmmss, or an ISO time to the second (2024-06-15T10:00:00Z)", typed)
	}
	t, err := record.ParseTimestamp(s)
	if err != nil {
		return 0, fmt.Errorf("--now %q: %v", s, err)
	}
	return t, nil
}

// Since reads a point in time given to flag: a CDX timestamp of 4 to 14
// digits (a prefix stands for its earliest second, as the CDX server reads
// from=), an ISO 8601 date or time (fromISO), or a duration back from now
// (90d, 12h, 1d12h).
func Since(flag, s string, now int64) (int64, error) {
	typed := s
	if digits, ok := fromISO(s); ok {
		s = digits
	}
	if looksISO(s) || s != "" && s[len(s)-1] >= '0' && s[len(s)-1] <= '9' {
		t, err := record.ParseTimestamp(s)
		if err != nil {
			return 0, fmt.Errorf("%s %q: want a CDX timestamp of 4 to 14 digits (YYYYMMDDhhmmss), an ISO date or time (2024-06-15, 2024-06-15T10:00:00Z), or a duration back from --now such as 90d", flag, typed)
		}
		return t, nil
	}
	d, err := units.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", flag, err)
	}
	if now-d <= 0 {
		return 0, fmt.Errorf("%s %s reaches back before 1970", flag, s)
	}
	return now - d, nil
}

// isoLayouts are the ISO 8601 forms a time may be typed in, with the
// CDX timestamp digits each gives: a date or month stands for its first
// second, as a CDX prefix does.
var isoLayouts = []struct {
	layout string
	digits int
}{
	{time.RFC3339, 14},
	{"2006-01-02T15:04:05", 14},
	{"2006-01-02 15:04:05", 14},
	{"2006-01-02T15:04", 12},
	{"2006-01-02 15:04", 12},
	{"2006-01-02", 8},
	{"2006-01", 6},
}

// looksISO reports whether s starts as an ISO date does (2024-...): a
// time, never a duration, whether or not it then reads as one.
func looksISO(s string) bool { return len(s) >= 7 && s[4] == '-' }

// fromISO reads s, when it is an ISO 8601 date or time (2024-06-15,
// 2024-06-15T10:00:00Z, 2024-06-15 10:00), as the digits of a CDX
// timestamp: in UTC, as CDX times are (a time without a zone is taken as
// UTC, one with an offset is moved to UTC).
func fromISO(s string) (string, bool) {
	if !looksISO(s) {
		return "", false
	}
	for _, l := range isoLayouts {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t.UTC().Format("20060102150405")[:l.digits], true
		}
	}
	return "", false
}

// Init makes a write to a closed pipe return EPIPE instead of killing the
// process, so Fail can exit quietly (`meguri-inspect --rows f | head -1`),
// and makes SIGINT, SIGTERM and SIGHUP remove the run's temporary files
// (outputs being written, spilled runs) before prog exits 128 + the signal.
// The temporary files that runs killed outright (SIGKILL, the OOM killer)
// left are removed by the next run that writes beside them, which says
// so on stderr.
func Init(prog string) {
	signal.Ignore(syscall.SIGPIPE)
	tempfiles.OnSignal(prog)
	tempfiles.Reaped = func(r tempfiles.Reaping) {
		what := r.Files[0]
		if len(r.Files) > 1 {
			what = fmt.Sprintf("%d files in %s", len(r.Files), r.Dir)
		}
		fmt.Fprintf(os.Stderr, "%s: removed %s (%s), left by process %d, which ended without finishing or removing its temporary files (killed?)\n",
			prog, what, units.Bytes(r.Bytes), r.PID)
	}
	tempfiles.InMemory = func(dir string) {
		fmt.Fprintf(os.Stderr, "%s: warning: spilling sorted runs to %s, which is held in memory (tmpfs): there they take the memory --mem keeps the run from holding; give --tmp a directory on a disk\n", prog, dir)
	}
	// not under --json, whose object is stderr's one line
	if free, limit, ok := memlimit.AddressSpace(); ok && free < addressSpaceWarn && !slices.Contains(os.Args[1:], "--json") {
		fmt.Fprintf(os.Stderr, "%s: warning: ulimit -v is %s, and the Go runtime mapped %s of it at start (reserved, not used), leaving %s: a run that needs more dies \"out of memory\"; raise it (ulimit -v 4000000, or unlimited) and bound memory with --mem or a cgroup instead\n",
			prog, units.Bytes(limit), units.Bytes(limit-free), units.Bytes(free))
	}
}

// addressSpaceWarn is the address space left under ulimit -v below which
// every tool warns at start: a merge or fold holds some 150 to 300 MiB,
// and past what is left the Go runtime dies "out of memory".
const addressSpaceWarn = 512 << 20

// Fail prints "prog: err" to stderr and exits 1 (2 for a usage error from
// Usagef), or exits 0 quietly when err is a closed pipe on stdout.
func Fail(prog string, err error) {
	if errors.Is(err, syscall.EPIPE) {
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
	var u usageError
	if errors.As(err, &u) {
		os.Exit(2)
	}
	os.Exit(1)
}

// Usagef is a usage error: flags that do not go together, or a value kong
// cannot check. Fail exits 2 for it, as for the usage errors kong finds,
// so that a script can tell a wrong command line (2) from a run that
// failed (1).
func Usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// Done ends a run that returned err: Fail with err, or else with the first
// error a write to Stdout met; it returns when there was neither.
func Done(prog string, err error) {
	if err == nil {
		err = Stdout.Err()
	}
	if err != nil {
		Fail(prog, err)
	}
}

// StderrIsTerminal reports whether stderr is a terminal (not a file, a
// pipe or /dev/null).
func StderrIsTerminal() bool { return isTerminal(os.Stderr.Fd()) }

// BinaryToTerminal refuses to write a .meguri file to stdout (out "-")
// when stdout is a terminal, as gzip and zstd refuse: the bytes would
// garble it and help no one.
func BinaryToTerminal(out string) error {
	if out == "-" && isTerminal(os.Stdout.Fd()) {
		return Usagef("stdout is a terminal, and a .meguri file is binary: give -o PATH or redirect stdout (> part.meguri)")
	}
	return nil
}

// ReadsStdin reports whether a run reads stdin: no input given, or "-".
func ReadsStdin(inputs []string) bool {
	return len(inputs) == 0 || slices.Contains(inputs, "-")
}

// LinesFromTerminal tells the user, when a run is about to read lines
// from stdin and stdin is a terminal, that it waits for them there (a
// command given no file otherwise seems to hang), and how to give a file
// instead ("give FILE... to read files").
func LinesFromTerminal(prog, what, instead string) {
	if isTerminal(os.Stdin.Fd()) {
		fmt.Fprintf(os.Stderr, "%s: reading %s from the terminal; end with Ctrl-D (%s)\n", prog, what, instead)
	}
}

// BinaryFromTerminal refuses to read a .meguri file from stdin when
// stdin is a terminal: no one types one.
func BinaryFromTerminal(inputs []string) error {
	if slices.Contains(inputs, "-") && isTerminal(os.Stdin.Fd()) {
		return Usagef("stdin is a terminal, and a .meguri file is binary: give FILE or pipe one in (< part.meguri)")
	}
	return nil
}

// PackProgress returns the progress function of a pack or checkpoint
// (logstore.PackOptions.Progress), printing on m; nil when m is.
func PackProgress(prog string, m *Meter) func(stage string, done, total int64) {
	if m == nil {
		return nil
	}
	return func(stage string, done, total int64) {
		if stage == "log" {
			m.Printf("%s: reading the log: %s of %s (%.0f%%)", prog, units.Bytes(done), units.Bytes(total), 100*float64(done)/float64(max(total, 1)))
		} else {
			m.Printf("%s: writing: %d rows merged", prog, done)
		}
	}
}

// Progress decides whether to show progress: flag when given, otherwise
// whether stderr is a terminal.
func Progress(flag *bool) bool {
	if flag != nil {
		return *flag
	}
	return StderrIsTerminal()
}

// Meter prints a progress line on stderr at most twice a second, and
// clears it when the work is done. A nil *Meter prints nothing, so callers
// need not check.
type Meter struct {
	start time.Time
	last  time.Time
	shown bool
	phase time.Time // when the current stage began (Writing)
}

// NewMeter returns a Meter when progress is on (the flag when given,
// otherwise whether stderr is a terminal), else nil.
func NewMeter(flag *bool) *Meter {
	if !Progress(flag) {
		return nil
	}
	now := time.Now()
	return &Meter{start: now, last: now}
}

// Reading returns the progress function of a run that reads CDX files
// (given the lines, the bytes read after decompression, and the bytes
// read as stored): "TOOL: N lines, X read", and, when every input is a
// regular file, how much of their total that is (with the compressed
// bytes read, when they differ) and about how long the rest will take. A
// nil Meter returns nil.
func (m *Meter) Reading(tool string, files []string) func(lines, bytes, raw int64) {
	if m == nil {
		return nil
	}
	total := inputBytes(files)
	return func(lines, bytes, raw int64) {
		if total <= 0 || raw <= 0 {
			m.Printf("%s: %d lines, %s read", tool, lines, units.Bytes(bytes))
			return
		}
		done := min(float64(raw)/float64(total), 1)
		elapsed := time.Since(m.start)
		left := ""
		if elapsed >= 2*time.Second {
			left = ", about " + roughDuration(time.Duration(float64(elapsed)*(1-done)/done)) + " left to read"
		}
		// Of compressed files, the share is of their stored bytes: say
		// how many of those the lines read so far came from.
		stored := ""
		if raw < bytes {
			stored = " (" + units.Bytes(raw) + " compressed)"
		}
		m.Printf("%s: %d lines, %s read%s, %.0f%% of %s%s", tool, lines, units.Bytes(bytes), stored, 100*done, units.Bytes(total), left)
	}
}

// Writing returns the progress function of the stages after an ingest's
// reading (see extsort.Sorter.Progress): "TOOL: sorting N taken lines", then
// the share of them folded and written, with about how long that has left.
// A nil Meter returns nil.
func (m *Meter) Writing(tool string) func(stage string, done, total int64) {
	if m == nil {
		return nil
	}
	return func(stage string, done, total int64) {
		if stage == "sort" {
			m.phase = time.Now()
			m.Now("%s: sorting %d taken lines", tool, total)
			return
		}
		done = min(done, total)
		left := ""
		if elapsed := time.Since(m.phase); elapsed >= 2*time.Second && done > 0 {
			left = ", about " + roughDuration(time.Duration(float64(elapsed)*float64(total-done)/float64(done))) + " left"
		}
		m.Printf("%s: writing: %d of %d taken lines folded (%.0f%%)%s", tool, done, total, 100*float64(done)/float64(max(total, 1)), left)
	}
}

// inputBytes is the total size of files as stored, or 0 when one is stdin
// or not a regular file (a pipe: its size is not known ahead).
func inputBytes(files []string) int64 {
	if len(files) == 0 {
		return 0
	}
	var total int64
	for _, f := range files {
		st, err := os.Stat(f)
		if f == "-" || err != nil || !st.Mode().IsRegular() {
			return 0
		}
		total += st.Size()
	}
	return total
}

// roughDuration prints d as a person reads a time left: 45s, 3m10s, 2h05m.
func roughDuration(d time.Duration) string {
	switch s := int64(d.Round(time.Second) / time.Second); {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
}

// Printf replaces the progress line, unless it was replaced less than half
// a second ago.
func (m *Meter) Printf(format string, a ...any) {
	if m == nil || time.Since(m.last) < 500*time.Millisecond {
		return
	}
	m.last, m.shown = time.Now(), true
	// back to the line's start, and clear what a longer line left
	fmt.Fprintf(os.Stderr, "\r"+format+"\033[K", a...)
}

// Now replaces the progress line at once: a new stage's first line, which
// must not wait out the half second a stage's own lines keep.
func (m *Meter) Now(format string, a ...any) {
	if m == nil {
		return
	}
	m.last = time.Time{}
	m.Printf(format, a...)
}

// Clear erases the progress line if one was printed.
func (m *Meter) Clear() {
	if m != nil && m.shown {
		fmt.Fprint(os.Stderr, "\r\033[K")
		m.shown = false
	}
}

// Rejects opens the --rejects file (nil writer when path is empty). Its
// finish commits the file, whether or not the run succeeded, so that the
// lines that stopped a run are kept, and returns the run's error runErr,
// or, when the run had none, the commit's: a rejects file that could not
// be written fails the run. Call finish(nil) before committing the run's
// own output, so such a run leaves no output either, and defer
// `err = finish(err)` for the paths that fail earlier; a second call
// commits nothing. A commit failure under a run that failed for another
// reason is reported on stderr under prog.
func Rejects(prog, path string) (w io.Writer, finish func(runErr error) error, err error) {
	if path == "" {
		return nil, func(runErr error) error { return runErr }, nil
	}
	if err := NotMeguri("--rejects", path); err != nil {
		return nil, nil, err
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, nil, err
	}
	enc, err := compressor(path, f)
	if err != nil {
		f.Abort()
		return nil, nil, err
	}
	w = f
	if enc != nil {
		w = enc
	}
	return w, func(runErr error) error {
		var cerr error
		if enc != nil {
			cerr, enc = enc.Close(), nil
		}
		if cerr == nil {
			cerr = f.Commit()
		} else {
			f.Abort()
		}
		switch {
		case cerr == nil:
			return runErr
		case runErr == nil:
			return fmt.Errorf("writing rejects: %w", cerr)
		case !errors.Is(runErr, cerr): // not the failure the run reports
			fmt.Fprintf(os.Stderr, "%s: writing rejects: %v\n", prog, cerr)
		}
		return runErr
	}, nil
}

// compressor returns the compressing writer over w that a text output's
// name asks for by its extension, ".gz" gzip and ".zst" zstd (as a user
// who names rejects.jsonl.gz means to zcat it), or nil for any other
// name. Closing it ends the stream; it does not close w.
func compressor(name string, w io.Writer) (io.WriteCloser, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".gz":
		return gzip.NewWriter(w), nil
	case ".zst":
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
	}
	return nil, nil
}

// MemDefault returns the budget a --mem flag left at its default def
// stands for: def, or, when it is less, half the least of the limits that
// bind the process: the memory limit of its cgroup (the container, the
// batch job), this machine's memory, and the address space left under
// its ulimit -v; at least 16 MiB. When a limit lowered def, why names it,
// worded to follow "--mem SIZE, ". The other half is for what a budget
// does not count (the runtime, read and write buffers, encoders). A
// budget past a cgroup's limit or the machine's memory got the process
// killed by the kernel with no word said, and one past the address space
// left made the runtime die "out of memory" with a few hundred MiB in
// use.
func MemDefault(def int64) (mem int64, why string) {
	return readLimits().memDefault(def)
}

// limits are what binds a process's memory (MemDefault).
type limits struct {
	cgroup, physical, asFree, asLimit int64
	hasCgroup, hasPhysical, hasAS     bool
}

// readLimits reads the limits that bind this process.
func readLimits() limits {
	var l limits
	l.cgroup, l.hasCgroup = memlimit.Limit()
	l.physical, l.hasPhysical = memlimit.Physical()
	l.asFree, l.asLimit, l.hasAS = memlimit.AddressSpace()
	return l
}

func (l limits) memDefault(def int64) (mem int64, why string) {
	mem = def
	lower := func(has bool, limit int64, says func() string) {
		if has && limit/2 < mem {
			mem, why = limit/2, says()
		}
	}
	lower(l.hasPhysical, l.physical, func() string {
		return fmt.Sprintf("half this machine's memory (%s)", units.Bytes(l.physical))
	})
	lower(l.hasCgroup, l.cgroup, func() string {
		return fmt.Sprintf("half the memory limit of the cgroup this runs in (%s)", units.Bytes(l.cgroup))
	})
	lower(l.hasAS, l.asFree, func() string {
		return fmt.Sprintf("half the address space left under its limit (ulimit -v %s, of which %s was mapped at start)", units.Bytes(l.asLimit), units.Bytes(l.asLimit-l.asFree))
	})
	if why != "" {
		mem = max(mem, 16<<20)
	}
	return mem, why
}

// DefaultMem applies MemDefault to a --mem flag the command line did not
// give, and says so on stderr when a limit lowered it (not under -q or
// --json, whose summary stays the only line); a --mem given past the
// machine's memory or the cgroup's limit is warned of (not under --json).
func DefaultMem(ctx *kong.Context, prog string, mem *Size) {
	if Given(ctx, "mem") {
		if !Given(ctx, "json") {
			warnMemPast(prog, int64(*mem))
		}
		return
	}
	m, why := MemDefault(int64(*mem))
	*mem = Size(m)
	if why != "" && !Given(ctx, "quiet") && !Given(ctx, "json") {
		SayMemLowered(prog, m, why)
	}
}

// warnMemPast warns of a --mem given past what the machine or the cgroup
// holds: a run that takes its budget is then killed by the kernel.
func warnMemPast(prog string, mem int64) {
	l := readLimits()
	what, limit := "this machine's memory", l.physical
	if l.hasCgroup && (!l.hasPhysical || l.cgroup < limit) {
		what, limit = "the memory limit of the cgroup this runs in", l.cgroup
	}
	if (l.hasPhysical || l.hasCgroup) && mem > limit {
		fmt.Fprintf(os.Stderr, "%s: warning: --mem %s is more than %s (%s): a run that reaches it is killed by the kernel; give at most half of that\n",
			prog, units.Bytes(mem), what, units.Bytes(limit))
	}
}

// SayMemLowered says that the --mem default was lowered to mem, and why
// (MemDefault).
func SayMemLowered(prog string, mem int64, why string) {
	fmt.Fprintf(os.Stderr, "%s: --mem %s, %s; --mem sets it\n", prog, units.Bytes(mem), why)
}

// Given reports whether the flag --name was on the command line (not just
// at its default).
func Given(ctx *kong.Context, name string) bool {
	for _, p := range ctx.Path {
		if p.Flag != nil && p.Flag.Name == name {
			return true
		}
	}
	return false
}

// Notify returns a function that prints "prog: subject: msg" lines on
// stderr, for libraries that report what they do along the way; under -q
// (quiet) it prints nothing.
func Notify(prog, subject string, quiet bool) func(msg string) {
	if quiet {
		return func(string) {}
	}
	return func(msg string) { fmt.Fprintf(os.Stderr, "%s: %s: %s\n", prog, subject, msg) }
}

// Inputs are a run's named inputs, each looked up once, to check many
// outputs against (a split's, one per partition, over thousands of shards).
type Inputs []input

type input struct {
	name string // for messages
	path string // to open
	st   os.FileInfo
}

// StatInputs looks the inputs up; inputs that cannot be stat'ed (reading
// them fails later, by name) are left out, and so is "-" unless stdin is
// a regular file (`- < cdx.jsonl`), which is then named <stdin>.
func StatInputs(inputs []string) Inputs {
	var s Inputs
	stdin := false
	for _, in := range inputs {
		if in == "" || in == "-" {
			if st, err := os.Stdin.Stat(); err == nil && st.Mode().IsRegular() && !stdin {
				s, stdin = append(s, input{"<stdin>", "/dev/stdin", st}), true
			}
			continue
		}
		if st, err := os.Stat(in); err == nil {
			s = append(s, input{in, in, st})
		}
	}
	return s
}

// At returns the input that is the same file as path, if any (a path that
// does not exist is none).
func (s Inputs) At(path string) (string, bool) {
	if len(s) == 0 || path == "" || path == "-" {
		return "", false
	}
	pst, err := os.Stat(path)
	if err != nil {
		return "", false // not there yet (any other problem shows when it is written)
	}
	for _, in := range s {
		if os.SameFile(pst, in.st) {
			return in.name, true
		}
	}
	return "", false
}

// NamedTwice refuses inputs that name one file twice, under any spelling
// (`cdx-*.gz cdx-00001.gz`, a symlink, a hard link), or two files of the
// same bytes (a shard copied, or fetched back, under a second name): read
// twice, its captures would count twice, and a file folded with itself
// would double every count. Only regular files are looked at (stdin when
// it is one).
//
// Files that cannot be read are not compared: the run that reads them
// reports why.
func (s Inputs) NamedTwice() error {
	var same twins.Set
	var files twins.Files
	for i := range s {
		if o := files.Add(s[i].name, s[i].st); o != "" {
			return fmt.Errorf("%s and %s are the same file: give each input once (read twice, its captures would count twice)", o, s[i].name)
		}
		if !s[i].st.Mode().IsRegular() {
			continue
		}
		if o, err := same.Add(s[i].name, s[i].st.Size(), twins.OpenPath(s[i].path)); o != "" && err == nil && !holdsNothing(s[i].path, s[i].st.Size()) {
			return fmt.Errorf("%s and %s hold the same bytes: give each input once (read twice, its captures would count twice)", o, s[i].name)
		}
	}
	return nil
}

// holdsNothing reports whether the small file at path holds nothing a run
// counts: no line but blank ones once decompressed (the empty zstd frame
// route split --zstd writes for a partition that got no line, one in
// each shard's directory when shards are split apart and a partition is
// ingested from all of them), or a .meguri of no record. Inputs of the
// same such bytes count nothing twice.
func holdsNothing(path string, size int64) bool {
	if size > 64<<10 {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	if cdxinput.IsMeguri(b) {
		f, err := codec.OpenFile(bytes.NewReader(b), int64(len(b)))
		return err == nil && f.Stats.URLs == 0
	}
	in, err := cdxinput.NewInput(path, bytes.NewReader(b))
	if err != nil {
		return false
	}
	defer in.Close()
	text, err := io.ReadAll(io.LimitReader(in, 1<<20))
	return err == nil && len(bytes.TrimSpace(text)) == 0
}

// OtherPartition refuses an output path that holds a .meguri file of
// another partition or range than the output's (id, lo..hi), unless it is
// one of the run's inputs (a rewrite in place): replacing it would lose
// that partition's file, as `meguri-compact part-0000.meguri
// part-0001.meguri -o part-0002.meguri` did. A path that does not exist,
// or whose header does not read (a damaged file being rebuilt), is left
// to the run.
func (s Inputs) OtherPartition(flag, path string, id, lo, hi uint64) error {
	h, found, err := s.Existing(path)
	if !found || err != nil || h.PartitionID == id && h.Lo == lo && h.Hi == hi {
		return nil
	}
	return fmt.Errorf("%s %s holds partition %d (%s..%s), not the output's partition %d (%s..%s): replacing it would lose that partition's file; write elsewhere, or remove it first",
		flag, path, h.PartitionID, units.Key(h.Lo), units.Key(h.Hi), id, units.Key(lo), units.Key(hi))
}

// HeldURLs returns how many URLs the .meguri file an output would
// replace at path holds: 0 when there is nothing to replace (see
// Existing) or the file does not read as a .meguri file.
func (s Inputs) HeldURLs(path string) uint64 {
	if !s.replaces(path) {
		return 0
	}
	f, osf, err := codec.Open(path)
	if err != nil {
		return 0
	}
	osf.Close()
	return f.Stats.URLs
}

// Existing reads the header of the file an output would replace at path.
// found is false when there is nothing to replace: "-", a path that does
// not exist, one that is not a regular file (a pipe or a device, written
// in place), or one of the inputs (a rewrite in place, read whole first).
// err is the reason the header does not read (not a .meguri file,
// damaged) when found.
func (s Inputs) Existing(path string) (h codec.Header, found bool, err error) {
	if !s.replaces(path) {
		return h, false, nil
	}
	return FileHeader(path)
}

// CannotRead words a missing or unreadable input as every tool does
// ("cannot read PATH: no such file or directory"), for the commands,
// which cannot import lib/internal/dirs.
func CannotRead(path string, err error) error { return dirs.CannotRead(path, err) }

// FileHeader reads the header of the regular file at path: found is false
// when there is none to read (no such file, not a regular file, or
// unreadable), and err says when it is not a .meguri header. A pipe is not
// opened: it could not be read again.
func FileHeader(path string) (h codec.Header, found bool, err error) {
	if path == "" || path == "-" || !regular(path) {
		return h, false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return h, false, nil
	}
	defer f.Close()
	b := make([]byte, codec.HeaderSize)
	if _, err := io.ReadFull(f, b); err != nil {
		return h, true, codec.ErrNotMeguri
	}
	h, err = codec.ParseHeader(b)
	return h, true, err
}

// replaces reports whether an output written to path would replace a
// file: a regular file there that is none of the inputs.
func (s Inputs) replaces(path string) bool {
	if path == "" || path == "-" || !regular(path) {
		return false
	}
	_, in := s.At(path)
	return !in
}

// InsideDir refuses an output path that lies in the partition directory
// dir (which may not exist yet), or in any other partition directory:
// there, a name like the snapshot's or the log's would replace partition
// state, and a writer removes what it does not know.
func InsideDir(flag, path, dir string) error {
	if path == "" || path == "-" {
		return nil
	}
	parent := filepath.Dir(path)
	if t, err := atomicfile.Target(path); err == nil {
		parent = filepath.Dir(t) // where the file lands, past any link
	}
	if p := dirs.PartitionAt(parent); p != "" {
		return fmt.Errorf("%s %s is inside the partition directory %s; write it elsewhere", flag, path, p)
	}
	ds, err := os.Stat(dir)
	if dir == "" || err != nil {
		return nil
	}
	if od, err := os.Stat(parent); err == nil && os.SameFile(ds, od) {
		return fmt.Errorf("%s %s is inside the partition directory %s; write it elsewhere", flag, path, dir)
	}
	return nil
}

// NotMeguri refuses a text output (rejects, a manifest) at path when a
// .meguri file is there: a slip of the name would replace a partition's
// file with lines.
func NotMeguri(flag, path string) error {
	if path == "" || path == "-" || !regular(path) {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, 8)
	if _, err := io.ReadFull(f, b); err == nil && codec.HasMagic(b) {
		return fmt.Errorf("%s %s is a .meguri file; writing there would replace it with text: give another name", flag, path)
	}
	return nil
}

// regular reports whether path is a regular file. Only one can hold a file
// an output would replace; opening a pipe to look would wait for a writer.
func regular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// Clobbers is the package's Clobbers against inputs already looked up.
func (s Inputs) Clobbers(flag, out string) error {
	if in, ok := s.At(out); ok {
		return fmt.Errorf("%s %s would overwrite the input %s; write it elsewhere", flag, out, in)
	}
	return nil
}

// SamePath reports whether two output paths name the same place: the
// same path once made absolute and clean, or one file or pipe under two
// names (a link; /dev/stdout, or the file stdout is redirected to, and
// "-"). Devices such as /dev/null take any number of writers, and two
// "-" are the caller's to tell apart.
func SamePath(a, b string) bool {
	if a == "" || b == "" || a == "-" && b == "-" {
		return false
	}
	if a != "-" && b != "-" {
		aa, err1 := filepath.Abs(a)
		bb, err2 := filepath.Abs(b)
		if err1 == nil && err2 == nil && aa == bb {
			return true
		}
	}
	sa, ok := fileOrPipe(a)
	if !ok {
		return false
	}
	sb, ok := fileOrPipe(b)
	return ok && os.SameFile(sa, sb)
}

// fileOrPipe looks up an output path ("-" for stdout) that exists and is
// a regular file or a pipe.
func fileOrPipe(path string) (os.FileInfo, bool) {
	var st os.FileInfo
	var err error
	if path == "-" {
		st, err = os.Stdout.Stat()
	} else {
		st, err = os.Stat(path)
	}
	if err != nil || !st.Mode().IsRegular() && st.Mode()&os.ModeNamedPipe == 0 {
		return nil, false
	}
	return st, true
}

// MakeOutDir makes dir, and its missing parents, for a run's outputs. The
// function it returns removes the directories it made, when they are
// still empty: what a run that fails calls, so that it leaves no empty
// --out-dir behind.
func MakeOutDir(dir string) (undo func(), err error) {
	if p := dirs.PartitionAt(dir); p != "" {
		return func() {}, fmt.Errorf("--out-dir %s is inside the partition directory %s; write it elsewhere", dir, p)
	}
	var made []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		made = append(made, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return func() {}, err
	}
	return func() {
		for _, d := range made { // deepest first
			if os.Remove(d) != nil {
				return
			}
		}
	}, nil
}
