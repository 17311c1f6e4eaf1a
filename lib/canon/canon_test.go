package canon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/meguri/meguri/lib/internal/testinput"
)

type wptCase struct {
	Input   string  `json:"input"`
	Base    *string `json:"base"`
	Href    string  `json:"href"`
	Failure bool    `json:"failure"`
}

// absoluteHTTP reports whether a WPT input is an absolute http(s) URL, one
// whose meaning does not depend on the test's base URL.
func absoluteHTTP(in string) bool {
	s := strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(strings.TrimLeft(in, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\v\f\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
	sch := Scheme(s)
	if sch != "http" && sch != "https" {
		return false
	}
	rest := s[len(sch)+1:]
	return len(rest) >= 2 && (rest[0] == '/' || rest[0] == '\\') && (rest[1] == '/' || rest[1] == '\\')
}

// TestWPT holds the canonicalizer to the web-platform URL tests: on every
// absolute http(s) case, it fails where the standard fails, and otherwise
// returns the standard's href after meguri's documented extra rules.
func TestWPT(t *testing.T) {
	data, err := os.ReadFile("testdata/urltestdata.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range raw {
		var c wptCase
		if json.Unmarshal(r, &c) != nil || c.Input == "" && c.Href == "" {
			continue // comment strings
		}
		if c.Base != nil && !absoluteHTTP(c.Input) {
			continue
		}
		got, err := Canonicalize(c.Input)
		if c.Failure {
			if err == nil && absoluteHTTP(c.Input) {
				t.Errorf("Canonicalize(%q) = %q, want failure", c.Input, got)
			}
			continue
		}
		if !strings.HasPrefix(c.Href, "http://") && !strings.HasPrefix(c.Href, "https://") {
			continue
		}
		want := c.Href
		if i := strings.IndexByte(want, '#'); i >= 0 {
			want = want[:i]
		}
		want = NormalizeEscapes(want)
		checked++
		if err != nil {
			t.Errorf("Canonicalize(%q): %v, want %q", c.Input, err, want)
		} else if got != want {
			t.Errorf("Canonicalize(%q) = %q, want %q", c.Input, got, want)
		}
	}
	if checked < 100 {
		t.Fatalf("only %d WPT cases checked", checked)
	}
	t.Logf("%d http(s) WPT cases agree", checked)
}

func TestCanonicalizeRules(t *testing.T) {
	cases := []struct{ in, want string }{
		{"HTTP://WWW.Example.COM:80/a/./b/../c#frag", "http://www.example.com/a/c"},
		{"http://www.zew.de:80/", "http://www.zew.de/"},
		{"https://example.com:443", "https://example.com/"},
		{"https://example.com:8443/x", "https://example.com:8443/x"},
		{"http://example.com/%7euser/%2fa%3f", "http://example.com/~user/%2Fa%3F"},
		{"http://example.com/a b", "http://example.com/a%20b"},
		{"http://bücher.de/", "http://xn--bcher-kva.de/"},
		{"http://192.168.0.1:80/", "http://192.168.0.1/"},
		{"http://0x7f.1/", "http://127.0.0.1/"},
		{"http://[::1]:8080/", "http://[::1]:8080/"},
		{"http://example.com?q=1", "http://example.com/?q=1"},
		{"https://example.com/é", "https://example.com/%C3%A9"},
		// bytes that are no UTF-8 (Latin-1 an old archive kept raw) keep
		// their value as escapes, so two such URLs stay two, beside a
		// valid é
		{"http://example.com/caf\xe9?q=\xe9", "http://example.com/caf%E9?q=%E9"},
		{"http://example.com/caf\xe8", "http://example.com/caf%E8"},
		{"http://example.com/\xc3\xa9\xc3", "http://example.com/%C3%A9%C3"},
	}
	for _, c := range cases {
		got, err := Canonicalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("Canonicalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCanonicalizeErrors(t *testing.T) {
	for _, in := range []string{"de9bdbe518d8a37d168c41506f4f4c59", "", "/relative/path"} {
		if _, err := Canonicalize(in); err != ErrNotURL {
			t.Errorf("Canonicalize(%q) = %v, want ErrNotURL", in, err)
		}
	}
	// what lacks only a scheme is told from what is no URL at all
	for in, want := range map[string]bool{
		"www.zew.de/": true, "www.zew.de": true, " 192.0.2.1:8080/a ": true,
		"de9bdbe518d8a37d168c41506f4f4c59": false, "/relative/path": false, "": false, "http://www.zew.de/": false,
	} {
		if got := MissingScheme(in); got != want {
			t.Errorf("MissingScheme(%q) = %v, want %v", in, got, want)
		}
	}
	for in, sch := range map[string]string{
		"dns:www.archive.org":                       "dns",
		"whois://whois.arin.net/z+%2B+1.2.3.4":      "whois",
		"ftp://ftp.mayn.de/pub/":                    "ftp",
		"warcinfo:/IAH-2008.warc.gz/ia-web-commons": "warcinfo",
		"metadata://www.youtube.com/v/2B7y5lZX3Nw":  "metadata",
	} {
		_, err := Canonicalize(in)
		se, ok := err.(*SchemeError)
		if !ok || se.Scheme != sch {
			t.Errorf("Canonicalize(%q) = %v, want scheme error %q", in, err, sch)
		}
	}
	// A URL up to MaxURL bytes is canonicalized, one longer is refused
	// (its user name of junk, as the parser builds it a byte at a time,
	// took a time growing with its square), after its scheme: a long
	// ftp: URL is an ftp: URL first.
	pad := func(prefix, suffix string, n int) string {
		return prefix + strings.Repeat("a", n-len(prefix)-len(suffix)) + suffix
	}
	for in, want := range map[string]error{
		pad("http://www.example.com/", "", MaxURL):     nil,
		pad("http://", "@www.example.com/", MaxURL):    nil,
		pad("http://www.example.com/", "", MaxURL+1):   ErrLongURL,
		pad("http://", "@www.example.com/", MaxURL+1):  ErrLongURL,
		pad("https://www.example.com/ ", "", MaxURL+1): ErrLongURL,
		pad("/relative/", "", MaxURL+1):                ErrNotURL,
	} {
		_, err1 := Canonicalize(in)
		_, _, err2 := CanonicalizeHost(in)
		if err1 != want || err2 != want {
			t.Errorf("Canonicalize(%.30q... of %d bytes) = %v, %v, want %v", in, len(in), err1, err2, want)
		}
	}
	if _, err := Canonicalize(pad("ftp://ftp.mayn.de/", "", MaxURL+1)); err == nil || err.(*SchemeError).Scheme != "ftp" {
		t.Errorf("a long ftp: URL: %v, want the ftp scheme error", err)
	}
	// a host of bytes that are no UTF-8 is no host (escaped or not, it
	// decodes to no domain name)
	for _, in := range []string{"http://", "http://exa mple.com/", "http://[::1/", "https://example.com:99999/", "http://b\xe9.example/"} {
		if _, err := Canonicalize(in); err != ErrBadURL {
			t.Errorf("Canonicalize(%q) = %v, want ErrBadURL", in, err)
		}
	}
}

func TestKeys(t *testing.T) {
	type keyCase struct {
		url, group string
		g          Grouping
	}
	cases := []keyCase{
		{"http://www.example.com/a", "example.com", ByDomain},
		{"http://www.example.com/a", "www.example.com", ByHost},
		{"https://a.b.example.co.uk/", "example.co.uk", ByDomain},
		{"http://192.168.0.1/", "192.168.0.1", ByDomain},
		{"http://[::1]:8080/", "[::1]", ByDomain},
		{"http://user:pw@www.example.com:8080/", "example.com", ByDomain},
		{"http://localhost/", "localhost", ByDomain},
		{"http://github.io/", "github.io", ByDomain},
		{"http://www.example.com?q=/", "example.com", ByDomain},
		{"https://www.example.com#x/", "example.com", ByDomain},
		{"http://a@b@www.example.com/@", "example.com", ByDomain},
	}
	// a host of many labels (a junk line's): KeyedGroup finds its group
	// from the shortest parts up, not by hashing every longer one first
	long := "http://" + strings.Repeat("a.", 5000) + "example.com/x"
	cases = append(cases, keyCase{long, "example.com", ByDomain}, keyCase{long, long[7 : len(long)-2], ByHost})
	for _, c := range cases {
		k := KeysOf(c.url, c.g)
		if k.Group != c.group || k.Host != xxhash.Sum64String(c.group) || HostKey(c.url, c.g) != k.Host {
			t.Errorf("KeysOf(%q, %v) = %+v, want group %q", c.url, c.g, k, c.group)
		}
		if got := KeyedGroup(c.url, k.Host); got != c.group {
			t.Errorf("KeyedGroup(%q, %#x) = %q, want %q", c.url, k.Host, got, c.group)
		}
	}
	if got := KeyedGroup("http://www.example.com/", 42); got != "" {
		t.Errorf("KeyedGroup of a key no part of the host hashes to: %q", got)
	}
	// A Keyer, which remembers the last host's group, gives what KeysOf
	// gives whatever came before: the same host twice, another host of the
	// same group, a host of another group, an empty host.
	for _, g := range []Grouping{ByDomain, ByHost} {
		k := Keyer{Grouping: g}
		for _, u := range []string{"http://www.example.com/a", "http://www.example.com/b", "http://example.com/",
			"http://mail.example.com/", "https://a.b.example.co.uk/", "http:///x", "http://[::1]:8/",
			"http:///y", "http://www.example.com/a", "http://www.example.com./a", "http://github.io/", "http://x.github.io/"} {
			if got, want := k.Keys(u), KeysOf(u, g); got != want {
				t.Errorf("Keyer(%v).Keys(%q) = %+v, KeysOf says %+v", g, u, got, want)
			}
		}
	}
	// and when its grouping changes between two URLs of one host
	k := Keyer{Grouping: ByDomain}
	k.Keys("http://www.example.com/a")
	k.Grouping = ByHost
	if got := k.Keys("http://www.example.com/b"); got.Group != "www.example.com" {
		t.Errorf("a Keyer kept its group across a change of grouping: %+v", got)
	}
	// The path key separates URLs that share a host key.
	a := KeysOf("http://www.example.com/x", ByDomain)
	b := KeysOf("http://example.com/x", ByDomain)
	c := KeysOf("https://www.example.com/x", ByDomain)
	if a.Host != b.Host || a.Path == b.Path || a.Path == c.Path {
		t.Errorf("path keys do not separate subdomain and scheme: %+v %+v %+v", a, b, c)
	}
	if a.Path != xxhash.Sum64String("http://www./x") {
		t.Errorf("path key %x is not xxHash64 of the URL with the group cut out", a.Path)
	}
}

// checkAgreement asserts the fast path, when it accepts, agrees with the
// WHATWG parser plus the extra rules, and that canonical URLs are fixed
// points.
func checkAgreement(t *testing.T, raw string) {
	t.Helper()
	fast, host, ok := fastCanonical(raw)
	if ok {
		p, err := parser.Parse(raw)
		if err != nil {
			t.Fatalf("fast path accepted %q, parser rejects it: %v", raw, err)
		}
		if want := NormalizeEscapes(p.Href(true)); fast != want {
			t.Fatalf("fast path %q -> %q, parser says %q", raw, fast, want)
		}
	}
	if u, h, err := CanonicalizeHost(raw); err == nil {
		if want, _, _ := HostOf(u); h != want || ok && h != host {
			t.Fatalf("CanonicalizeHost(%q) gives host %q, HostOf(%q) says %q", raw, h, u, want)
		}
	}
	if u, err := Canonicalize(raw); err == nil {
		again, err := Canonicalize(u)
		if err != nil || again != u {
			t.Fatalf("canonical URL %q of %q is not a fixed point: %q, %v", u, raw, again, err)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{"http://example.com/", "https://a.b/c?d#e", "http://x/%2e%2E/", "http://A.com:080/a%7e", "http://a.example/caf\xe9?%\xe8"} {
		f.Add(s)
	}
	f.Fuzz(checkAgreement)
}

// TestCorpusAgreement runs the fast path against the parser on every URL of
// the corpus (MEGURI_CORPUS), plus its uppercase and fragment variants.
func TestCorpusAgreement(t *testing.T) {
	f, err := os.Open(testinput.Corpus(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, fast := 0, 0
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			t.Fatalf("corpus line %d is not JSON", n+1)
		}
		u, _ := m["url"].(string)
		checkAgreement(t, u)
		if _, _, ok := fastCanonical(u); ok {
			fast++
		}
		checkAgreement(t, strings.ToUpper(u))
		checkAgreement(t, u+"#Frag")
		n++
	}
	t.Logf("%d corpus URLs agree; fast path took %d", n, fast)
}

// hostOfPlain is HostOf as the format spells it (docs/FORMAT.md), one
// step at a time.
func hostOfPlain(u string) (string, int, int) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", 0, 0
	}
	start := i + 3
	end := start + strings.IndexAny(u[start:], "/?#")
	if end < start {
		end = len(u)
	}
	if at := strings.LastIndexByte(u[start:end], '@'); at >= 0 {
		start += at + 1
	}
	auth := u[start:end]
	if strings.HasPrefix(auth, "[") {
		if k := strings.IndexByte(auth, ']'); k >= 0 {
			auth = auth[:k+1]
		}
	} else if k := strings.IndexByte(auth, ':'); k >= 0 {
		auth = auth[:k]
	}
	return auth, start, start + len(auth)
}

// FuzzHostOf holds HostOf, which has fast paths for the http(s) prefixes,
// to the plain spelling of its definition.
func FuzzHostOf(f *testing.F) {
	for _, s := range []string{"http://a.b/c", "https://u:p@h.com:80/x", "http://[::1]:8/", "ftp://x?y", "http:/x", "http://a@b#c@d", "https://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		h, s, e := HostOf(u)
		ph, ps, pe := hostOfPlain(u)
		if h != ph || s != ps || e != pe {
			t.Fatalf("HostOf(%q) = %q %d %d, want %q %d %d", u, h, s, e, ph, ps, pe)
		}
	})
}

// FuzzNormalizeEscapes holds NormalizeEscapes, which returns its input
// uncopied when nothing changes, to a plain rewrite of every escape: an
// unreserved character decoded, any other escape's hex digits uppercased.
// FuzzNormalizeEscapes: the rule never changes what a URL means (decoding
// each escape once, as a server does, gives the same bytes before and
// after), it is its own fixed point, every escape it leaves has uppercase
// hex, and where no stray % is involved it is exactly "decode unreserved,
// uppercase the rest".
func FuzzNormalizeEscapes(f *testing.F) {
	for _, s := range []string{"", "%", "%4", "%41", "%7e", "%7E", "%2f", "%2F", "a%2Fb%7ec", "%%41", "%zz%41", "http://a/%C3%A9",
		"%7%30", "%%37%30", "%%341", "%3%34%31", "%a%62"} {
		f.Add(s)
	}
	decodeOnce := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				continue
			}
			b.WriteByte(s[i])
		}
		return b.String()
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeEscapes(s)
		if decodeOnce(got) != decodeOnce(s) {
			t.Fatalf("NormalizeEscapes(%q) = %q changes what it means: %q, was %q", s, got, decodeOnce(got), decodeOnce(s))
		}
		if again := NormalizeEscapes(got); again != got {
			t.Fatalf("NormalizeEscapes(%q) = %q, but again gives %q", s, got, again)
		}
		for i := 0; i+2 < len(got); i++ {
			if got[i] == '%' && isHex(got[i+1]) && isHex(got[i+2]) {
				if upperHex(got[i+1]) != got[i+1] || upperHex(got[i+2]) != got[i+2] {
					t.Fatalf("NormalizeEscapes(%q) = %q leaves lowercase hex", s, got)
				}
				i += 2
			}
		}
		if strings.Contains(decodeOnce(s), "%") {
			return // a stray % is involved: the model below does not hold
		}
		var want strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				v := unhex(s[i+1])<<4 | unhex(s[i+2])
				if isUnreserved(v) {
					want.WriteByte(v)
				} else {
					want.WriteString("%" + strings.ToUpper(s[i+1:i+3]))
				}
				i += 2
				continue
			}
			want.WriteByte(s[i])
		}
		if got := NormalizeEscapes(s); got != want.String() {
			t.Fatalf("NormalizeEscapes(%q) = %q, want %q", s, got, want.String())
		}
	})
}

func TestColumns(t *testing.T) {
	for line, want := range map[string]bool{
		"https://a.example/x\thttps://b.example/y": true,
		"https://a.example/p\t200\r\n":             true,
		"\thttps://a.example/p\t\r\n":              false, // tabs at the ends only
		"https://a.example/p q":                    false,
		"":                                         false,
	} {
		if got := Columns([]byte(line)); got != want {
			t.Errorf("Columns(%q) = %v, want %v", line, got, want)
		}
	}
}

// TestListURL: a line of a URL list stands for itself, a JSON object line
// for its "url" (matched as ingest matches it: in any case, the last of
// two winning, "original" where "url" gives nothing), a line of columns
// for nothing.
func TestListURL(t *testing.T) {
	for _, c := range []struct {
		line, want string
		err        error
	}{
		{"https://a.example/p", "https://a.example/p", nil},
		{"  https://a.example/p q ", "  https://a.example/p q ", nil}, // Canonicalize trims
		{`{"url": "https://a.example/p", "timestamp": "20240101000000"}`, "https://a.example/p", nil},
		{` {"url":"http://a.example/\u00e9"}`, "http://a.example/é", nil},
		{`{"URL": "https://a.example/p"}`, "https://a.example/p", nil},
		{`{"url": "https://a.example/p", "Url": "https://a.example/q"}`, "https://a.example/q", nil},
		{`{"original": "https://a.example/p", "statuscode": "200"}`, "https://a.example/p", nil},
		{`{"original": "https://a.example/p", "url": "https://a.example/q"}`, "https://a.example/q", nil},
		{`{"url": "", "original": "https://a.example/p"}`, "https://a.example/p", nil},
		{`{"url": null}`, "", ErrNoURLField},
		{`{"url": 7}`, "", ErrNoURLField},
		{`{"url": "https://a.example/p"`, "", ErrNoURLField},
		{"https://a.example/p\tanchor text", "", ErrColumns},
		// a URL and a timestamp, which ingest rejects, is no URL with a
		// space in it
		{"http://a.example/p 20240101000000", "", ErrCDXFields},
		{"a.example/p 2024", "", ErrCDXFields},
		{"a.example/p q", "a.example/p q", nil}, // not a URL: Canonicalize refuses it
	} {
		got, err := ListURL([]byte(c.line))
		if got != c.want || err != c.err {
			t.Errorf("ListURL(%q) = %q, %v; want %q, %v", c.line, got, err, c.want, c.err)
		}
	}
}

// TestJSONString: a JSON string of a URL list line decodes as ingest's
// decoder decodes it: escapes as JSON has them, a surrogate pair joined
// and a lone half as U+FFFD, invalid UTF-8 kept byte for byte (so that
// the URL parser, dropping the tab in "\xcc\t\xbd", sees U+033D, as
// ingest does; encoding/json had made it two U+FFFD).
func TestJSONString(t *testing.T) {
	for raw, want := range map[string]string{
		`"http://a/"`:             "http://a/",
		`"a\"b\\c\/d\b\f\n\r\te"`: "a\"b\\c/d\b\f\n\r\te",
		`"\u0041\u00e9\u20ac"`:    "Aé€",
		`"a\ud800\udc00b"`:        "a\U00010000b",
		`"a\ud800b"`:              "a\uFFFDb",
		`"a\udc00b"`:              "a\uFFFDb",
		`"a\ud800\u0041b"`:        "a\uFFFDAb",
		`"a\ud800"`:               "a\uFFFD",
		"\"a\xcc\\u0009\xbd\"":    "a\xcc\t\xbd",
		"\"p\xff\"":               "p\xff",
		`""`:                      "",
	} {
		if got, ok := jsonString([]byte(raw)); !ok || got != want {
			t.Errorf("jsonString(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{"", "1", "null", "[]", `x"`} {
		if got, ok := jsonString([]byte(raw)); ok {
			t.Errorf("jsonString(%q) = %q: a string", raw, got)
		}
	}
	u, err := ListURL([]byte("{\"url\": \"http://b/\xcc\t\xbd\"}"))
	if c, _ := Canonicalize(u); err != nil || c != "http://b/%CC%BD" {
		t.Errorf("a tab between the halves of a character: %q (%q), %v", c, u, err)
	}
}

// TestTrimSpace: the hand-written trim equals bytes.Trim with the
// same cutset for every byte value at either end and on both sides.
func TestTrimSpace(t *testing.T) {
	for c := 0; c < 256; c++ {
		for _, s := range []string{string([]byte{byte(c)}), string([]byte{byte(c)}) + "x" + string([]byte{byte(c)}),
			"\t \r\n" + string([]byte{byte(c)}) + "url\v\f" + string([]byte{byte(c)})} {
			want := bytes.Trim([]byte(s), " \t\n\v\f\r")
			if got := TrimSpace([]byte(s)); !bytes.Equal(got, want) {
				t.Fatalf("TrimSpace(%q) = %q, want %q", s, got, want)
			}
		}
	}
}
