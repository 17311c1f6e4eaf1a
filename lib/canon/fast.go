package canon

import "strings"

// Byte classes for the fast path. A byte outside its class sends the URL to
// the WHATWG parser, which is always right; the fast path only has to be
// right on what it accepts.
var (
	hostOK  [256]bool
	pathOK  [256]bool
	queryOK [256]bool
)

func init() {
	for c := 'a'; c <= 'z'; c++ {
		hostOK[c], hostOK[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		hostOK[c] = true
	}
	hostOK['-'], hostOK['.'] = true, true
	for c := 0; c < 256; c++ {
		if hostOK[c] && c != '.' {
			pathOK[c], queryOK[c] = true, true
		}
	}
	for _, c := range "._~!$&()*+,;=:@/%" {
		pathOK[c], queryOK[c] = true, true
	}
	pathOK['\''] = true
	queryOK['?'] = true
}

// fastCanonical canonicalizes the common case, a lowercase-scheme http(s)
// URL of plain ASCII with an ordinary domain name and no dot segments, and
// reports false for anything else. It also returns the canonical URL's
// host, as HostOf would.
func fastCanonical(raw string) (u, host string, ok bool) {
	var scheme string
	var defPort string
	switch {
	case strings.HasPrefix(raw, "http://"):
		scheme, defPort = "http://", "80"
	case strings.HasPrefix(raw, "https://"):
		scheme, defPort = "https://", "443"
	default:
		return "", "", false
	}
	rest := raw[len(scheme):]
	// Authority: host[:port], ending at / ? # or the end.
	end := len(rest)
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == '/' || c == '?' || c == '#' {
			end = i
			break
		}
	}
	auth, tail := rest[:end], rest[end:]
	host, port := auth, ""
	if i := strings.IndexByte(auth, ':'); i >= 0 {
		host, port = auth[:i], auth[i+1:]
	}
	if !fastHost(host) {
		return "", "", false
	}
	portVal := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return "", "", false
		}
		portVal = portVal*10 + int(c-'0')
		if portVal > 65535 {
			return "", "", false
		}
	}
	fragment := false
	if h := strings.IndexByte(tail, '#'); h >= 0 {
		tail, fragment = tail[:h], true
	}
	path, query := tail, ""
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		path, query = tail[:q], tail[q:]
	}
	// The path starts with '/' when it is not empty. A "/." or "%2e" in it
	// may be a dot segment: left to the parser.
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case !pathOK[c]:
			return "", "", false
		case c == '.' && path[i-1] == '/':
			return "", "", false
		case c == '%' && i+2 < len(path) && path[i+1] == '2' && path[i+2]|0x20 == 'e':
			return "", "", false
		}
	}
	for i := 1; i < len(query); i++ {
		if !queryOK[query[i]] {
			return "", "", false
		}
	}
	if !fragment && len(host) == len(auth) && path != "" && !hasUpper(host) {
		// No fragment, no port, a path, a lowercase host: raw is already
		// canonical but for escapes (never in the host), and needs no copy.
		return NormalizeEscapes(raw), host, true
	}
	var b strings.Builder
	b.Grow(len(raw) + 1)
	b.WriteString(scheme)
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	if port != "" {
		p := itoa(portVal)
		if p != defPort {
			b.WriteByte(':')
			b.WriteString(p)
		}
	}
	if path == "" {
		b.WriteByte('/')
	}
	b.WriteString(path)
	b.WriteString(query)
	u = NormalizeEscapes(b.String())
	return u, u[len(scheme) : len(scheme)+len(host)], true
}

// fastHost accepts dot-separated non-empty labels of ASCII letters, digits
// and hyphens, where no label is punycode and the last label starts with a
// letter (else WHATWG may parse the host as IPv4).
func fastHost(h string) bool {
	if h == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(h); i++ {
		if i < len(h) && h[i] != '.' {
			if !hostOK[h[i]] {
				return false
			}
			continue
		}
		label := h[start:i]
		if label == "" {
			return false
		}
		if len(label) >= 4 && (label[0]|0x20) == 'x' && (label[1]|0x20) == 'n' && label[2] == '-' && label[3] == '-' {
			return false
		}
		start = i + 1
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last[0] >= '0' && last[0] <= '9' || last[0] == '-' {
		// digits or 0x...: an IPv4 candidate; so is "-0" to the parser
		// (found by FuzzCanonicalize), and no real label starts with '-'
		return false
	}
	return true
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var buf [8]byte
	i := len(buf)
	for v > 0 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return string(buf[i:])
}
