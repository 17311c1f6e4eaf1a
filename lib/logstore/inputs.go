package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
)

// Input is one input of a run, as the log records it: the name it was
// given by and a fingerprint of its content (the bytes read from it, after
// decompression), which tells a run of the same input again.
type Input struct {
	Name string
	Hash uint64 // xxHash64 (seed 0) of the content
	Size int64  // the content's length in bytes
}

// Content identifies an input's content: two inputs with the same one
// are the same input, whatever their names.
type Content struct {
	Hash uint64
	Size int64
}

// Content returns the input's content fingerprint, a map key.
func (in Input) Content() Content { return Content{in.Hash, in.Size} }

// An inputs frame records a transaction's inputs. It is a captures frame
// of no captures (count 0, size 0), so that a reader that knows nothing of
// it (an earlier build) reads it as one, whose zstd data is a skippable
// frame holding the inputs followed by an empty frame:
//
//	 0 count 0, uint32 LE
//	 4 size 0, uint32 LE
//	 8 skippable frame magic 0x184D2A5E, uint32 LE
//	12 its length L, uint32 LE
//	16 "MGIN", then a uvarint count, then for each input: its hash (8
//	   bytes LE), its size (8 bytes LE), a uvarint name length and the name
//	16+L an empty zstd frame
const skippableMagic = 0x184D2A5E

var inputsTag = []byte("MGIN")

// appendInputs appends a sealed inputs frame to dst.
func appendInputs(dst []byte, ins []Input) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize+capturesPrefix)...)
	dst = binary.LittleEndian.AppendUint32(dst, skippableMagic)
	lenAt := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = append(dst, inputsTag...)
	dst = binary.AppendUvarint(dst, uint64(len(ins)))
	for _, in := range ins {
		dst = binary.LittleEndian.AppendUint64(dst, in.Hash)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(in.Size))
		dst = binary.AppendUvarint(dst, uint64(len(in.Name)))
		dst = append(dst, in.Name...)
	}
	binary.LittleEndian.PutUint32(dst[lenAt:], uint32(len(dst)-lenAt-4))
	dst = encoder().EncodeAll(nil, dst)
	return sealFrame(dst, start, kindCaptures)
}

var errInputs = errors.New("malformed inputs frame")

// parseInputs returns the inputs a captures payload records, and whether
// it is an inputs frame at all. Its checksum has been checked.
func parseInputs(p []byte) ([]Input, bool, error) {
	if len(p) < capturesPrefix+8+len(inputsTag) || binary.LittleEndian.Uint64(p) != 0 ||
		binary.LittleEndian.Uint32(p[capturesPrefix:]) != skippableMagic ||
		!bytes.Equal(p[capturesPrefix+8:capturesPrefix+8+len(inputsTag)], inputsTag) {
		return nil, false, nil
	}
	n := int(binary.LittleEndian.Uint32(p[capturesPrefix+4:]))
	b := p[capturesPrefix+8:]
	if n > len(b) || n < len(inputsTag) {
		return nil, true, errInputs
	}
	b = b[len(inputsTag):n]
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return nil, true, errInputs
	}
	b = b[k:]
	ins := make([]Input, 0, count)
	for range count {
		if len(b) < 16 {
			return nil, true, errInputs
		}
		in := Input{Hash: binary.LittleEndian.Uint64(b), Size: int64(binary.LittleEndian.Uint64(b[8:]))}
		l, k := binary.Uvarint(b[16:])
		if k <= 0 || l > uint64(len(b)-16-k) {
			return nil, true, errInputs
		}
		in.Name = string(b[16+k : 16+k+int(l)])
		b = b[16+k+int(l):]
		ins = append(ins, in)
	}
	return ins, true, nil
}

// A Match is an input whose content a directory has committed before.
type Match struct {
	Input  Input  // the input, as this run names it
	Commit Commit // the first commit holding its content
	Run    int    // that commit's run, counted as meguri-inspect --commits counts them (0: carried)
	As     string // the name it was committed under
}

// CommittedBefore returns a Match for each of ins whose content one of
// commits (a log's, in order) holds, in the order of ins. A run that took
// no line holds none: it appended nothing of its inputs.
func CommittedBefore(commits []Commit, ins []Input) []Match {
	committed := map[Content]Match{}
	for _, m := range committedInputs(commits) {
		if _, ok := committed[m.Input.Content()]; !ok {
			committed[m.Input.Content()] = m
		}
	}
	var found []Match
	for _, in := range ins {
		if f, ok := committed[in.Content()]; ok {
			f.Input = in
			found = append(found, f)
		}
	}
	return found
}

// Names indexes the contents a log's commits hold by the name each was
// committed under, for telling an input that has grown since: one that
// begins with a content committed under its name.
type Names map[string][]Match

// CommittedNames indexes commits (a log's, in order) by name: for each
// name (./log and log being one), a Match for each content committed
// under it, the first commit holding it, in commit order (runs that took
// no line aside).
func CommittedNames(commits []Commit) Names {
	names := Names{}
	type named struct {
		name string
		c    Content
	}
	seen := map[named]bool{}
	for _, m := range committedInputs(commits) {
		k := named{filepath.Clean(m.As), m.Input.Content()}
		if !seen[k] {
			seen[k] = true
			names[k.name] = append(names[k.name], m)
		}
	}
	return names
}

// Under returns the Matches of the contents committed under name.
func (n Names) Under(name string) []Match { return n[filepath.Clean(name)] }

// committedInputs returns a Match for every input commits hold, in
// order, each as it was committed (Input and As alike).
func committedInputs(commits []Commit) []Match {
	var all []Match
	runs := 0
	for _, c := range commits {
		run := 0 // the carried transaction is no run
		if !c.Carried() {
			runs++
			run = runs
		}
		if c.appendedNothing() {
			continue
		}
		for _, in := range c.Inputs {
			all = append(all, Match{Input: in, Commit: c, Run: run, As: in.Name})
		}
	}
	return all
}

// CommittedFiles tells a run of files done before without reading it
// through: when every file is one that commits hold under that name,
// it fingerprints each (fingerprint gives an input's content as a run
// would record it) and returns their matches if every content is
// committed. Otherwise, or when a file cannot be fingerprinted, it
// returns nil, and the run goes on to tell by what it reads. A file
// under a name never committed costs nothing to look at.
func CommittedFiles(commits []Commit, files []string, fingerprint func(name string) (hash uint64, size int64, err error)) []Match {
	if len(files) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, c := range commits {
		for _, in := range c.Inputs {
			names[in.Name] = true
		}
	}
	for _, f := range files {
		if f == "-" || !names[f] {
			return nil
		}
	}
	ins := make([]Input, len(files))
	for i, f := range files {
		hash, size, err := fingerprint(f)
		if err != nil {
			return nil
		}
		ins[i] = Input{Name: f, Hash: hash, Size: size}
	}
	if found := CommittedBefore(commits, ins); len(found) == len(ins) {
		return found
	}
	return nil
}
