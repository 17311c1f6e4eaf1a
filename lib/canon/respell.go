package canon

import (
	"net/netip"
	"strings"
)

// Respellings returns the canonical URLs a person who typed u may have
// meant instead: the other scheme (http for https and back), the host
// with or without "www." (not added to an IP address or a name of one
// label), without an empty query ("?" at the end), and, for a path other
// than "/" with no query, the path with or without its trailing slash;
// and every combination of those. u must be canonical; u itself is left
// out, and so is a spelling that does not canonicalize to itself.
//
//	canon.Respellings("https://example.com/a")
//	// http://example.com/a, https://www.example.com/a, https://example.com/a/, ...
func Respellings(u string) []string {
	host, hs, he := HostOf(u)
	scheme, _, ok := strings.Cut(u, "://")
	if host == "" || !ok || scheme != "http" && scheme != "https" {
		return nil
	}
	schemes := []string{scheme, map[string]string{"http": "https", "https": "http"}[scheme]}
	hosts := []string{host}
	if h, ok := OtherWWW(host); ok {
		hosts = append(hosts, h)
	}
	rest := u[he:] // port, path and query
	paths := []string{rest}
	if t, ok := strings.CutSuffix(rest, "?"); ok && strings.IndexByte(t, '?') < 0 {
		rest = t // an empty query: the URL without it
		paths = append(paths, rest)
	}
	if p := strings.IndexByte(rest, '/'); p >= 0 && !strings.ContainsRune(rest, '?') && rest[p:] != "/" {
		if t, ok := strings.CutSuffix(rest, "/"); ok {
			paths = append(paths, t)
		} else {
			paths = append(paths, rest+"/")
		}
	}
	userinfo := u[len(scheme)+3 : hs]
	var out []string
	seen := map[string]bool{u: true}
	for _, s := range schemes {
		for _, h := range hosts {
			for _, p := range paths {
				v := s + "://" + userinfo + h + p
				if seen[v] {
					continue
				}
				seen[v] = true
				if c, err := Canonicalize(v); err == nil && c == v {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// OtherWWW returns host with "www." taken off, or put on when it has
// none, and false where that makes no other host: for an IP address, a
// name of one label, or "www." followed by one.
//
//	canon.OtherWWW("www.zew.de") // "zew.de", true
//	canon.OtherWWW("zew.de")     // "www.zew.de", true
func OtherWWW(host string) (string, bool) {
	if h, ok := strings.CutPrefix(host, "www."); ok {
		return h, strings.Contains(h, ".")
	}
	if _, err := netip.ParseAddr(host); err == nil || !strings.Contains(host, ".") || host[0] == '[' {
		return "", false
	}
	return "www." + host, true
}
