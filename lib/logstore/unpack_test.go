package logstore

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meguri/meguri/lib/codec"
	"github.com/meguri/meguri/lib/record"
)

// A file unpacked into a directory packs back to its own bytes; runs
// appended after it fold in as meguri-compact --fold folds a delta into
// the file; and a checkpoint writes what the pack wrote.
func TestUnpack(t *testing.T) {
	files := chunks(t, 2)
	base := ingestBytes(t, files[0])
	dir := filepath.Join(t.TempDir(), "part-7")
	u, err := Unpack(dir, bytes.NewReader(base), UnpackOptions{Source: "base.meguri"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Header.PartitionID != testHeader.PartitionID || u.Header.Lo != testHeader.Lo || u.Header.Hi != testHeader.Hi || u.Bytes != int64(len(base)) {
		t.Fatalf("unpacked %+v", u)
	}
	r, err := codec.NewReader(bytes.NewReader(base))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := r.NextBlock(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if u.Stats != r.Stats() {
		t.Fatalf("unpack counted %+v, the file holds %+v", u.Stats, r.Stats())
	}
	wantNames(t, dir, "lock", "log-0", "snap-0.meguri", "super")
	if got := pack(t, dir, PackOptions{}); !bytes.Equal(got, base) {
		t.Fatal("pack of an unpacked file differs from the file")
	}

	w := openWriter(t, dir, Full)
	defer w.Close()
	if w.Created {
		t.Fatal("the writer made a partition that unpack had made")
	}
	appendRun(t, w, files[1])
	got := pack(t, dir, PackOptions{})
	if !bytes.Equal(got, fold(t, base, ingestBytes(t, files[1]))) {
		t.Fatal("pack of an unpacked file and a run differs from folding the run's file into it")
	}
	if _, err := w.Checkpoint(PackOptions{}); err != nil {
		t.Fatal(err)
	}
	if snap, _ := os.ReadFile(filepath.Join(dir, "snap-1.meguri")); !bytes.Equal(snap, got) {
		t.Fatal("the checkpoint after unpack differs from the pack before it")
	}
}

// Unpack refuses a partition directory, someone else's directory and a
// bad stream, and leaves each as it found it: a directory it made is gone
// again, one that was there keeps only the lock.
func TestUnpackRefusals(t *testing.T) {
	base := ingestBytes(t, chunks(t, 1)...)
	tmp := t.TempDir()
	cut := base[:len(base)-1]
	damaged := flipped(base, len(base)/2, 1)
	v1 := bytes.Clone(base)
	v1[8] = 1 // the version field; the header checksum then fails first
	for _, c := range []struct {
		name string
		src  []byte
		want string
		is   error
	}{
		{"empty", nil, "in.meguri: empty", codec.ErrEmptyStream},
		{"truncated", cut, "in.meguri: corrupt .meguri", codec.ErrCorrupt},
		{"damaged", damaged, "in.meguri: corrupt .meguri", codec.ErrCorrupt},
		{"joined", append(bytes.Clone(base), base...), "joined end to end", codec.ErrCorrupt},
		{"cdx", []byte(`{"url":"http://a.example/"}` + "\n"), "not a .meguri file", nil},
		{"header", v1, "header", codec.ErrCorrupt},
	} {
		missing := filepath.Join(tmp, c.name)
		_, err := Unpack(missing, bytes.NewReader(c.src), UnpackOptions{Source: "in.meguri"})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "was not made a partition") || (c.is != nil && !errors.Is(err, c.is)) {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, serr := os.Stat(missing); !errors.Is(serr, os.ErrNotExist) {
			t.Fatalf("%s: the directory unpack made is left: %v", c.name, serr)
		}
		empty := filepath.Join(tmp, c.name+"-empty")
		os.Mkdir(empty, 0o755)
		if _, err := Unpack(empty, bytes.NewReader(c.src), UnpackOptions{Source: "in.meguri"}); err == nil {
			t.Fatalf("%s into an empty directory: no error", c.name)
		}
		wantNames(t, empty, "lock")
		// and the next unpack into it is not stopped by what this one left
		if _, err := Unpack(empty, bytes.NewReader(base), UnpackOptions{}); err != nil {
			t.Fatalf("%s: unpack after a failed one: %v", c.name, err)
		}
	}

	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644)
	if _, err := Unpack(other, bytes.NewReader(base), UnpackOptions{}); err == nil || !strings.Contains(err.Error(), "not empty and not a partition directory (it holds notes.txt)") {
		t.Fatalf("someone else's directory: %v", err)
	}
	wantNames(t, other, "notes.txt")

	file := filepath.Join(tmp, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Unpack(file, bytes.NewReader(base), UnpackOptions{}); err == nil || !strings.Contains(err.Error(), "is a file, not a partition directory") {
		t.Fatalf("a file: %v", err)
	}

	// a partition already: refused, its state unchanged
	part := filepath.Join(tmp, "part")
	w := openWriter(t, part, Full)
	appendRun(t, w, chunks(t, 2)[0])
	w.Close()
	before := pack(t, part, PackOptions{})
	if _, err := Unpack(part, bytes.NewReader(base), UnpackOptions{}); err == nil || !strings.Contains(err.Error(), "is partition 7 already (generation 0)") {
		t.Fatalf("a partition: %v", err)
	}
	if !bytes.Equal(pack(t, part, PackOptions{}), before) {
		t.Fatal("a refused unpack changed the partition")
	}

	// a file of format version 1 is refused, naming the conversion
	var old bytes.Buffer
	if err := codec.WriteAll(&old, codec.Header{Version: 1, PartitionID: 7, Hi: math.MaxUint64}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Unpack(filepath.Join(tmp, "v1"), &old, UnpackOptions{Source: "old.meguri"}); !errors.Is(err, codec.ErrVersion) || !strings.Contains(err.Error(), "meguri-compact --format-version 2") {
		t.Fatalf("version 1: %v", err)
	}
}

// FuzzUnpack: whatever the bytes, Unpack either refuses them and leaves no
// directory, or makes a partition that packs to the same records.
func FuzzUnpack(f *testing.F) {
	var seed bytes.Buffer
	if err := codec.WriteAll(&seed, testHeader, []record.Record{
		{URL: "http://a.example/", HostKey: 1, Status: record.Crawled, HTTPStatus: 200, FirstSeen: 1, LastSeen: 2, Captures: 2, Changes: 1, Digest: 9, Mime: "text/html", Length: 10},
		{URL: "http://a.example/x", HostKey: 1, Status: record.Discovered},
		{URL: "http://b.example/", HostKey: 2, Status: record.Gone, HTTPStatus: 404, FirstSeen: 3, LastSeen: 3, Captures: 1},
	}); err != nil {
		f.Fatal(err)
	}
	b := seed.Bytes()
	if _, err := Unpack(filepath.Join(f.TempDir(), "seed"), bytes.NewReader(b), UnpackOptions{}); err != nil {
		f.Fatalf("the seed does not unpack: %v", err)
	}
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add(flipped(b, len(b)/2, 4))
	f.Add(append(bytes.Clone(b), b...))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), "p")
		_, err := Unpack(dir, bytes.NewReader(data), UnpackOptions{Source: "fuzz"})
		if err != nil {
			if _, serr := os.Stat(dir); serr == nil {
				t.Fatalf("refused (%v), but left the directory", err)
			}
			return
		}
		want, err := codec.ReadAll(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("unpacked a stream the reader refuses: %v", err)
		}
		got, err := codec.ReadAll(bytes.NewReader(pack(t, dir, PackOptions{Mem: 1 << 20})))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("packs to %d records, the file holds %d", len(got), len(want))
		}
	})
}
