package canon

import (
	"slices"
	"strings"
	"testing"
)

func TestRespellings(t *testing.T) {
	for _, c := range []struct {
		u    string
		want []string
	}{
		{"https://example.com/a", []string{
			"https://example.com/a/",
			"https://www.example.com/a", "https://www.example.com/a/",
			"http://example.com/a", "http://example.com/a/",
			"http://www.example.com/a", "http://www.example.com/a/",
		}},
		// the root keeps its slash; www. comes off
		{"http://www.zew.de/", []string{"http://zew.de/", "https://www.zew.de/", "https://zew.de/"}},
		// a query keeps its path as it is; a port and userinfo stay
		{"http://u:p@www.example.co.uk:8080/x?q=1", []string{
			"http://u:p@example.co.uk:8080/x?q=1",
			"https://u:p@www.example.co.uk:8080/x?q=1", "https://u:p@example.co.uk:8080/x?q=1",
		}},
		// a slash comes off
		{"https://blog.example.com/p/", []string{
			"https://blog.example.com/p",
			"https://www.blog.example.com/p/", "https://www.blog.example.com/p",
			"http://blog.example.com/p/", "http://blog.example.com/p",
			"http://www.blog.example.com/p/", "http://www.blog.example.com/p",
		}},
		// an empty query comes off
		{"http://example.com/?", []string{
			"http://example.com/", "http://www.example.com/?", "http://www.example.com/",
			"https://example.com/?", "https://example.com/", "https://www.example.com/?", "https://www.example.com/",
		}},
		{"http://example.com/a?", []string{
			"http://example.com/a", "http://example.com/a/",
			"http://www.example.com/a?", "http://www.example.com/a", "http://www.example.com/a/",
			"https://example.com/a?", "https://example.com/a", "https://example.com/a/",
			"https://www.example.com/a?", "https://www.example.com/a", "https://www.example.com/a/",
		}},
		// an IP address, a single label
		{"http://10.0.0.1/", []string{"https://10.0.0.1/"}},
		{"http://[::1]/", []string{"https://[::1]/"}},
		{"http://localhost/", []string{"https://localhost/"}},
	} {
		got := Respellings(c.u)
		if !slices.Equal(got, c.want) {
			t.Errorf("Respellings(%q)\n got %q\nwant %q", c.u, got, c.want)
		}
		for _, v := range got {
			if cv, err := Canonicalize(v); err != nil || cv != v {
				t.Errorf("Respellings(%q): %q is not canonical (%q, %v)", c.u, v, cv, err)
			}
		}
	}
	// each is a respelling of the others
	for _, u := range []string{"https://example.com/a", "http://www.shop.example.net/", "https://blog.example.com/p/"} {
		for _, v := range Respellings(u) {
			if !slices.Contains(Respellings(v), u) {
				t.Errorf("%q respells %q, but not the other way", u, v)
			}
		}
	}
	if got := Respellings("ftp://example.com/"); got != nil {
		t.Errorf("Respellings of an ftp URL = %q, want none", got)
	}
}

// FuzzRespellings: of any URL that canonicalizes, the respellings are at
// most 15, distinct, canonical, other than the URL, and of the same host
// once a leading "www." is set aside.
func FuzzRespellings(f *testing.F) {
	for _, s := range []string{"https://example.com/a", "http://u:p@www.example.co.uk:8080/x?q=1", "http://example.com/a?", "http://[::1]/", "http://10.0.0.1/x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Canonicalize(s)
		if err != nil {
			return
		}
		site := func(u string) string {
			h, _, _ := HostOf(u)
			return strings.TrimPrefix(h, "www.")
		}
		rs := Respellings(u)
		if len(rs) > 15 {
			t.Fatalf("Respellings(%q): %d of them", u, len(rs))
		}
		seen := map[string]bool{u: true}
		for _, v := range rs {
			if seen[v] {
				t.Fatalf("Respellings(%q): %q twice, or the URL itself", u, v)
			}
			seen[v] = true
			if c, err := Canonicalize(v); err != nil || c != v {
				t.Fatalf("Respellings(%q): %q is not canonical (%q, %v)", u, v, c, err)
			}
			if site(v) != site(u) {
				t.Fatalf("Respellings(%q): %q is another host", u, v)
			}
		}
	})
}
