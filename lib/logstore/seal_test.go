package logstore

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestSeal: a seal waits for the writer that holds the directory, packs
// what that writer committed, and from then on every writer (so every run
// and every checkpoint) is refused with the seal's note, while readers
// read on; a pack that fails seals nothing, and an unseal lets writers in
// again.
func TestSeal(t *testing.T) {
	dir := t.TempDir()
	files := chunks(t, 3)
	w := openWriter(t, dir, None)
	appendRun(t, w, files[0])

	// a seal started while the writer runs waits for it, so its pack
	// holds the run the writer commits meanwhile
	waiting := make(chan struct{})
	done := make(chan error)
	var packed []byte
	go func() {
		done <- Seal(dir, "test seal", func(msg string) {
			if strings.Contains(msg, "waiting") {
				close(waiting)
			}
		}, func() error { packed = pack(t, dir, PackOptions{}); return nil })
	}()
	<-waiting
	appendRun(t, w, files[1])
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := ingestBytes(t, files[0], files[1]); !bytes.Equal(packed, want) {
		t.Fatal("the seal's pack is not every run committed before it")
	}

	_, err := OpenWriter(dir, WriterOptions{})
	var se *SealedError
	if !errors.As(err, &se) || se.Note != "test seal" || !strings.Contains(err.Error(), dir+" is sealed (test seal)") || !strings.Contains(err.Error(), "--unseal") {
		t.Fatalf("a writer of a sealed directory: %v", err)
	}
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.Sealed != "test seal" || !strings.Contains(v.Text(), "sealed      test seal") || !strings.Contains(v.JSON(), `"sealed":"test seal"`) {
		t.Errorf("a view of a sealed directory: %q, %s", v.Sealed, v.JSON())
	}
	v.Close()
	if !bytes.Equal(pack(t, dir, PackOptions{}), packed) {
		t.Error("a sealed directory packs to other bytes than its seal's pack")
	}

	// a failed pack seals nothing
	other := t.TempDir()
	openWriter(t, other, None).Close()
	if err := Seal(other, "x", func(string) {}, func() error { return errors.New("disk full") }); err == nil || err.Error() != "disk full" {
		t.Fatalf("a seal whose pack failed: %v", err)
	}
	if _, sealed, _ := Sealed(other); sealed {
		t.Error("a seal whose pack failed sealed the directory")
	}

	if was, err := Unseal(dir, func(string) {}); !was || err != nil {
		t.Fatalf("unseal: %v, %v", was, err)
	}
	if was, err := Unseal(dir, func(string) {}); was || err != nil {
		t.Fatalf("unseal of an unsealed directory: %v, %v", was, err)
	}
	w, err = OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	appendRun(t, w, files[2])
	w.Close()
	if !bytes.Equal(pack(t, dir, PackOptions{}), ingestBytes(t, files...)) {
		t.Error("after an unseal, the directory does not read as every run")
	}
}
