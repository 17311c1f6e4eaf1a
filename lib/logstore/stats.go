package logstore

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/meguri/meguri/lib/canon"
	"github.com/meguri/meguri/lib/extsort"
	"github.com/meguri/meguri/lib/record"
	"github.com/meguri/meguri/lib/units"
)

// VerifyLog decodes every capture in the view's committed log frames (their
// checksums were checked when the view was opened).
func (v *View) VerifyLog() error {
	return v.eachBatch(func(*extsort.Batch, int64) error { return nil })
}

func timestamp(unix int64) string {
	if unix == 0 {
		return ""
	}
	return record.FormatTimestamp(unix)
}

// JSON renders the directory's counters as one JSON object.
func (v *View) JSON() string {
	var b strings.Builder
	h, s := v.Header, v.Snapshot.Stats
	fmt.Fprintf(&b, `{"dir":%s,"generation":%d,"sequence":%d,"format_version":%d,"grouping":%q,"partition_id":%d,"host_key_lo":%q,"host_key_hi":%q,`,
		record.AppendString(nil, v.Dir), v.Generation, v.Sequence, h.Version, canon.Grouping(h.Grouping).String(), h.PartitionID, units.Key(h.Lo), units.Key(h.Hi))
	fmt.Fprintf(&b, `"snapshot":{"file":%q,"file_bytes":%d,"urls":%d,"hosts":%d,"captures":%d,"gone":%d},`,
		snapName(v.Generation), v.SnapBytes, s.URLs, s.Hosts, s.Captures, s.Gone)
	l := v.Log
	fmt.Fprintf(&b, `"log":{"file":%q,"bytes":%d,"transactions":%d,"frames":%d,"captures":%d,"lines":%d,"taken":%d,"last_commit":%q,"uncommitted_bytes":%d}`,
		logName(v.Generation), v.LogBytes, l.Transactions, l.Frames, l.Captures, l.Lines, l.Taken, timestamp(l.LastCommit), v.UncommittedBytes())
	b.WriteString(`,"damaged_logs":[`)
	for i, p := range v.DamagedLogs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(record.AppendString(nil, filepath.Base(p)))
	}
	b.WriteString("]")
	if v.Sealed != "" {
		b.WriteString(`,"sealed":`)
		b.Write(record.AppendString(nil, v.Sealed))
	}
	b.WriteString("}")
	return b.String()
}

// Text renders the directory's counters for people.
func (v *View) Text() string {
	var b strings.Builder
	h, s, l := v.Header, v.Snapshot.Stats, v.Log
	fmt.Fprintf(&b, "directory   %s\n", v.Dir)
	fmt.Fprintf(&b, "generation  %d (superblock sequence %d)\n", v.Generation, v.Sequence)
	fmt.Fprintf(&b, "format      v%d, grouping %s\n", h.Version, canon.Grouping(h.Grouping))
	fmt.Fprintf(&b, "partition   %d\n", h.PartitionID)
	fmt.Fprintf(&b, "range       %s .. %s\n", units.Key(h.Lo), units.Key(h.Hi))
	fmt.Fprintf(&b, "snapshot    %s: %d urls, %d hosts, %d captures, %d gone, %s\n",
		snapName(v.Generation), s.URLs, s.Hosts, s.Captures, s.Gone, units.Bytes(v.SnapBytes))
	fmt.Fprintf(&b, "log         %s: %s, %d transactions, %d captures and links from %d lines",
		logName(v.Generation), units.Bytes(v.LogBytes), l.Transactions, l.Captures, l.Lines)
	if l.LastCommit != 0 {
		fmt.Fprintf(&b, ", last commit %s", timestamp(l.LastCommit))
	}
	b.WriteByte('\n')
	if n := v.UncommittedBytes(); n > 0 {
		fmt.Fprintf(&b, "uncommitted %s past the last commit (a run in progress, or one that died: the next writer drops it)\n", units.Bytes(n))
	}
	for _, p := range v.DamagedLogs {
		fmt.Fprintf(&b, "damaged     %s, kept by a salvage: remove it once the runs it lost are re-run\n", filepath.Base(p))
	}
	if v.Sealed != "" {
		fmt.Fprintf(&b, "sealed      %s: writers refuse it (meguri-pack --unseal lets them in again)\n", v.Sealed)
	}
	return b.String()
}
