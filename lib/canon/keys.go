package canon

import (
	"net/netip"
	"strings"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/net/publicsuffix"
)

// Grouping says which part of the host all URLs of a "host" share.
type Grouping uint8

const (
	// ByDomain groups by registrable domain (public suffix + 1 label), or by
	// the whole host when it is an IP address or has no registrable domain.
	ByDomain Grouping = 0
	// ByHost groups by the full host name.
	ByHost Grouping = 1
)

// String returns the flag spelling of g.
func (g Grouping) String() string {
	if g == ByHost {
		return "host"
	}
	return "domain"
}

// Keys are the parts of a canonical URL's identity.
type Keys struct {
	Host  uint64 // xxHash64 (seed 0) of Group
	Path  uint64 // xxHash64 (seed 0) of the URL with Group cut out of its host
	Group string // the host grouping string
}

// KeyedGroup returns the host grouping string of a canonical URL whose
// host key is key: the suffix of its host (HostOf) whose xxHash64 is key,
// the whole host or a part that follows a dot; "" when none is (a key
// that is no hash of the URL's host). Unlike GroupOf it needs no
// public-suffix list, so it gives what the key was made of whichever
// list a build has.
func KeyedGroup(u string, key uint64) string {
	host, _, _ := HostOf(u)
	if host == "" {
		return ""
	}
	if xxhash.Sum64String(host) == key {
		return host
	}
	// The shortest parts first: a registrable domain is the last few
	// labels, so a host of many labels (a junk line's, of thousands) is
	// not hashed once for each of them.
	for i := len(host) - 2; i >= 0; i-- {
		if host[i] == '.' && xxhash.Sum64String(host[i+1:]) == key {
			return host[i+1:]
		}
	}
	return ""
}

// HostOf returns the host of a canonical URL: the authority without
// userinfo and port. IPv6 hosts keep their brackets.
func HostOf(u string) (host string, hostStart, hostEnd int) {
	var start int
	switch {
	case strings.HasPrefix(u, "http://"):
		start = 7
	case strings.HasPrefix(u, "https://"):
		start = 8
	default:
		i := strings.Index(u, "://")
		if i < 0 {
			return "", 0, 0
		}
		start = i + 3
	}
	end, at := len(u), -1
	for j := start; j < len(u); j++ {
		c := u[j]
		if c == '/' || c == '?' || c == '#' {
			end = j
			break
		}
		if c == '@' {
			at = j
		}
	}
	if at >= 0 {
		start = at + 1
	}
	auth := u[start:end]
	hend := len(auth)
	if strings.HasPrefix(auth, "[") {
		if k := strings.IndexByte(auth, ']'); k >= 0 {
			hend = k + 1
		}
	} else if k := strings.IndexByte(auth, ':'); k >= 0 {
		hend = k
	}
	return auth[:hend], start, start + hend
}

// GroupOf returns the grouping string of host.
func GroupOf(host string, g Grouping) string {
	if g == ByHost || host == "" || host[0] == '[' || strings.HasSuffix(host, ".") {
		return host
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last != "" && last[0] >= '0' && last[0] <= '9' {
		if _, err := netip.ParseAddr(host); err == nil {
			return host
		}
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil || !strings.HasSuffix(host, d) {
		return host
	}
	return d
}

// KeysOf computes the keys of a canonical URL.
func KeysOf(u string, g Grouping) Keys {
	host, _, hend := HostOf(u)
	return keysIn(u, hend, GroupOf(host, g))
}

// Keyer computes KeysOf for a run of URLs under one grouping, remembering
// the last host's grouping string: a file's rows come host by host, and
// finding a registrable domain costs more than the hashing.
type Keyer struct {
	Grouping    Grouping
	host, group string   // the last host and its group
	under       Grouping // the grouping group was found under
}

// Keys returns KeysOf(u, k.Grouping).
func (k *Keyer) Keys(u string) Keys {
	host, _, hend := HostOf(u)
	if host != k.host || k.group == "" || k.under != k.Grouping {
		k.host, k.group, k.under = host, GroupOf(host, k.Grouping), k.Grouping
	}
	return keysIn(u, hend, k.group)
}

// keysIn computes the keys of u, whose host ends at hend and groups as
// group.
func keysIn(u string, hend int, group string) Keys {
	cut := hend - len(group)
	var d xxhash.Digest
	d.Reset()
	d.WriteString(u[:cut])
	d.WriteString(u[hend:])
	return Keys{Host: xxhash.Sum64String(group), Path: d.Sum64(), Group: group}
}

// HostKey returns the host key of a canonical URL.
func HostKey(u string, g Grouping) uint64 {
	host, _, _ := HostOf(u)
	return KeyOfHost(host, g)
}

// KeyOfHost returns the host key of a host, as HostOf returns it.
func KeyOfHost(host string, g Grouping) uint64 {
	return xxhash.Sum64String(GroupOf(host, g))
}
