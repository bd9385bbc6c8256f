package hub

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address a request comes from, as the per-address limits
// see it. A request from a trusted reverse proxy comes from the rightmost
// address in its X-Forwarded-For that is not itself a trusted proxy (the
// entries left of it were written by the client and prove nothing); any
// other request comes from its TCP peer, whatever headers it carries.
// ClientAddr is the client's address for a request: its peer's, or with
// trusted proxies the last untrusted hop of X-Forwarded-For.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string { return clientAddr(r, trusted) }

func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer := r.RemoteAddr
	if len(trusted) == 0 {
		return peer
	}
	host := peer
	if h, _, err := net.SplitHostPort(peer); err == nil {
		host = h
	}
	if !isTrusted(host, trusted) {
		return peer
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		if !isTrusted(hops[i], trusted) {
			return hops[i]
		}
	}
	if len(hops) > 0 {
		return hops[0] // every hop is a proxy of ours: the first is the client
	}
	return peer
}

// forwardedFor lists the addresses of X-Forwarded-For header values in
// order, skipping entries that are not IP addresses.
func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if host, _, err := net.SplitHostPort(part); err == nil {
				part = host // "[::1]:1234" or "1.2.3.4:5678"
			}
			if a, err := netip.ParseAddr(strings.Trim(part, "[]")); err == nil {
				hops = append(hops, a.Unmap().String())
			}
		}
	}
	return hops
}

// isTrusted reports whether ip is in one of the trusted prefixes.
func isTrusted(ip string, trusted []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses a list of IP addresses and CIDR prefixes (e.g.
// "10.0.0.0/8", "127.0.0.1", "::1") for Config.TrustedProxies.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &net.ParseError{Type: "IP address or CIDR prefix", Text: s}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
