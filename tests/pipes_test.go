//go:build linux

package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The shell's <(...) and >(...) and a FIFO made with mkfifo name a stream,
// not a file: it reads once, nothing can be renamed over it, and a reader
// at its other end waits for its end. The tools take them where they take
// files, the way a user writes them in bash.
func TestNamedPipes(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash on this machine")
	}
	dir := t.TempDir()
	jsonl, err := filepath.Abs(sample)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := filepath.Abs("../testdata/sample.meguri")
	if err != nil {
		t.Fatal(err)
	}
	sh := func(script string) (stdout, stderr string, code int) {
		t.Helper()
		// A run that waits on a pipe for ever fails here, not at the
		// test binary's deadline.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", "set -o pipefail; "+script)
		cmd.WaitDelay = time.Second
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"), "J="+jsonl, "G="+golden)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if ctx.Err() != nil {
			t.Fatalf("%s: still running after a minute: %s", script, e.String())
		}
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	must := func(script string) string {
		t.Helper()
		o, e, code := sh(script)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", script, code, e)
		}
		return o
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string) {
		t.Helper()
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, not the golden file's %d", name, len(got), len(want))
		}
	}

	// Outputs: a FIFO and >(...) get the file's bytes (before, the run
	// opened the FIFO to read what it would replace and waited there for
	// ever), rejects too, and no temporary file is left beside them.
	must(`mkfifo out rej && { cat out > a.meguri & cat rej > rejects.jsonl & meguri-ingest -q "$J" -o out --rejects rej; wait; }`)
	same("a.meguri")
	if n := strings.Count(must(`cat rejects.jsonl`), "\n"); n != 172 {
		t.Errorf("rejects through a FIFO: %d lines, want the sample's 172", n)
	}
	must(`meguri-ingest -q "$J" -o >(cat > b.meguri); wait $!`)
	same("b.meguri")
	must(`meguri-compact -q "$G" -o >(cat > c.meguri); wait $!`)
	same("c.meguri")
	if o := must(`ls -A | grep -c tmp || true`); o != "0\n" {
		t.Errorf("temporary files left: %s", must(`ls -A`))
	}

	// A reader gone from the pipe's other end fails the run: stdout into
	// `| head` ends quietly, but a pipe named as the output is where the
	// file was to go, and the shell does not see a >(...)'s exit status.
	// The reader opens the FIFO and closes it without reading; the output
	// (generated URLs with random paths, 130 KB) is more than a pipe holds,
	// so the run meets the closed end however late the reader closes it.
	must(`awk 'BEGIN{srand(1); for(i=0;i<8000;i++){s=""; for(j=0;j<32;j++) s=s sprintf("%x", int(rand()*16)); print "{\"url\":\"http://r.example/" s "\"}"}}' > generated.jsonl && meguri-ingest -q generated.jsonl -o generated.meguri`)
	for _, c := range []string{`meguri-ingest -q generated.jsonl -o gone`, `meguri-compact -q generated.meguri -o gone`} {
		_, e, code := sh(`rm -f gone && mkfifo gone && { : < gone & ` + c + `; }`)
		if code != 1 || !strings.Contains(e, "cannot write gone: the reader at the pipe's other end is gone, so the output is not whole") {
			t.Errorf("%s, its reader gone: exit %d, %q", c, code, e)
		}
	}

	// Inputs that are sniffed (CDX or .meguri?) before they are read: the
	// look must not use up what the read then needs. Before, split and
	// balance lost a pipe's first 8 bytes: the first CDX line was
	// rejected, a gzip or .meguri stream did not read at all.
	for _, in := range []string{`<(cat "$J")`, `<(gzip -c < "$J")`, `<(cat "$G")`} {
		file := `"$J"`
		if strings.Contains(in, "$G") {
			file = `"$G"`
		}
		if got, want := must(`meguri-route balance -q -n 3 `+in), must(`meguri-route balance -q -n 3 `+file); got != want {
			t.Errorf("balance %s:\n%s\nwant, as from the file:\n%s", in, got, want)
		}
		must(`rm -rf p f && mkdir p f && meguri-route balance -q -n 3 ` + file + ` > m && meguri-route split -q --manifest m --out-dir p ` + in + ` && meguri-route split -q --manifest m --out-dir f ` + file)
		if o, e, code := sh(`diff -r p f`); code != 0 {
			t.Errorf("split %s differs from split of the file: %s%s", in, o, e)
		}
	}

	// A partition directory fed through <(...) twice, with other lines
	// each time: bash names both /dev/fd/63, which the directory has
	// committed, so the run hashed the pipe to tell a re-run, and then
	// read nothing from it and appended nothing (exit 0). The same
	// content a third time is a re-run, told after the read.
	must(`meguri-ingest -q --data live <(head -1200 "$J") && meguri-ingest -q --data live <(tail -n +1201 "$J")`)
	must(`meguri-pack -q live -o packed.meguri`)
	same("packed.meguri")
	_, e, code := sh(`meguri-ingest --data live <(tail -n +1201 "$J")`)
	if code != 0 || !strings.Contains(e, "committed the same content") || !strings.Contains(e, "nothing was appended") {
		t.Errorf("the same lines through a pipe again: exit %d, %q", code, e)
	}
	must(`meguri-pack -q live -o packed.meguri`)
	same("packed.meguri")

	// compaction reads its inputs' footers first: a pipe is refused as
	// stdin is, not called a truncated file.
	_, e, code = sh(`meguri-compact <(cat "$G") -o x.meguri`)
	if code != 1 || !strings.Contains(e, "is a pipe or a device, not a file: this reads a .meguri file from its footer first (save it to a file)") {
		t.Errorf("compact of a pipe: exit %d, %q", code, e)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.meguri")); err == nil {
		t.Error("compact of a pipe left x.meguri")
	}

	// Rows through a pipe name their files relative to the current
	// directory, as on stdout and stdin, not to /dev/fd.
	must(`meguri-route balance -q -n 2 "$G" > fleet.manifest && rm -rf sd && mkdir sd && meguri-compact -q --split 2 --out-dir sd "$G" --manifest-out >(cat > rows); wait $!`)
	rows := must(`grep -v '^#' rows | cut -f4`)
	if rows != "sd/part-0000.meguri\nsd/part-0001.meguri\n" {
		t.Errorf("rows written through a pipe name %q", rows)
	}
	o := must(`meguri-route update -q --manifest fleet.manifest --rows <(cat rows) -o - | grep -v '^#' | cut -f4`)
	if o != "sd/part-0000.meguri\nsd/part-0001.meguri\n" {
		t.Errorf("rows read through a pipe published as %q", o)
	}
	_, e, code = sh(`cd sd && meguri-route update -q --manifest ../fleet.manifest --rows <(cat ../rows) -o -`)
	if code != 1 || !strings.Contains(e, "(rows read from stdin or a pipe name their files relative to the current directory); nothing was written") {
		t.Errorf("rows through a pipe from another directory: exit %d, %q", code, e)
	}
}
