package logstore

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/meguri/meguri/lib/extsort"
)

// TestInputsFrame: an inputs frame reads back what was written, and to a
// reader that knows nothing of it (the captures decoder of earlier
// builds, which pack and checkpoint still use) it is a frame of no
// captures; a frame of captures is no inputs frame.
func TestInputsFrame(t *testing.T) {
	ins := []Input{
		{Name: "cdx-00000.gz", Hash: 0x0123456789abcdef, Size: 1 << 40},
		{Name: "<stdin>", Hash: 1, Size: 1},
		{Name: "a name with\nodd bytes \xff", Hash: ^uint64(0), Size: 7},
	}
	f := appendInputs(nil, ins)
	if int(binary.LittleEndian.Uint32(f)) != len(f)-frameHeaderSize || f[4] != kindCaptures || !intact(f[:frameHeaderSize], f[frameHeaderSize:]) {
		t.Fatal("not a sealed captures frame")
	}
	p := f[frameHeaderSize:]
	got, ok, err := parseInputs(p)
	if !ok || err != nil || !reflect.DeepEqual(got, ins) {
		t.Fatalf("read back %+v, %v, %v", got, ok, err)
	}
	if b, err := decodeCaptures(p); err != nil || b.Len() != 0 {
		t.Fatalf("as captures: %d, %v", b.Len(), err)
	}
	if got, ok, err := parseInputs(appendInputs(nil, nil)[frameHeaderSize:]); !ok || err != nil || len(got) != 0 {
		t.Fatalf("no inputs: %v %v %v", got, ok, err)
	}
	var b extsort.Batch
	c, _, err := appendCaptures(nil, nil, &b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := parseInputs(c[frameHeaderSize:]); ok {
		t.Fatal("an empty captures frame read as an inputs frame")
	}
}

// FuzzInputsFrame: any payload parses as inputs, as not an inputs frame,
// or as a malformed one, never a panic; what parses writes back the same.
func FuzzInputsFrame(f *testing.F) {
	f.Add(appendInputs(nil, []Input{{Name: "x", Hash: 2, Size: 3}})[frameHeaderSize:])
	f.Add(appendInputs(nil, nil)[frameHeaderSize:])
	f.Fuzz(func(t *testing.T, p []byte) {
		ins, ok, err := parseInputs(p)
		if !ok || err != nil {
			return
		}
		again, _, err := parseInputs(appendInputs(nil, ins)[frameHeaderSize:])
		if err != nil || len(again) != len(ins) || len(ins) > 0 && !reflect.DeepEqual(again, ins) {
			t.Fatalf("%+v wrote back as %+v (%v)", ins, again, err)
		}
	})
}
