package turn

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"parley/app/wire"
)

// Provider hands out ICE configurations with freshly minted credentials:
// it implements hub.ICEProvider. It needs only the secret, the URLs and the
// policy, so it drives an external coturn (use-auth-secret with the same
// secret) as well as the embedded Server.
type Provider struct {
	signer Signer
	urls   []string
	policy string
	now    func() time.Time
}

// NewProvider returns a Provider offering urls (turn:, turns: or stun:)
// signed by signer, with the ICE transport policy (wire.ICEPolicyAll, the
// default when empty, or wire.ICEPolicyRelay).
func NewProvider(signer Signer, urls []string, policy string) (*Provider, error) {
	if len(signer.Secret) == 0 {
		return nil, fmt.Errorf("turn provider: empty secret")
	}
	for _, u := range urls {
		if err := CheckURL(u); err != nil {
			return nil, fmt.Errorf("turn provider: %w", err)
		}
	}
	switch policy {
	case "":
		policy = wire.ICEPolicyAll
	case wire.ICEPolicyAll, wire.ICEPolicyRelay:
	default:
		return nil, fmt.Errorf("turn provider: ICE transport policy %q is neither %q nor %q", policy, wire.ICEPolicyAll, wire.ICEPolicyRelay)
	}
	if len(urls) == 0 && policy == wire.ICEPolicyRelay {
		return nil, fmt.Errorf("turn provider: policy %q needs a TURN server", policy)
	}
	return &Provider{signer: signer, urls: append([]string(nil), urls...), policy: policy, now: time.Now}, nil
}

// ICEConfig returns the servers with credentials minted for jid now.
func (p *Provider) ICEConfig(jid string) wire.ICEConfig {
	cfg := wire.ICEConfig{Policy: p.policy}
	if len(p.urls) == 0 {
		return cfg
	}
	user, pass, expires := p.signer.Credentials(jid, p.now())
	cfg.Servers = []wire.ICEServer{{URLs: append([]string(nil), p.urls...), Username: user, Credential: pass}}
	cfg.Expires = expires.UnixMilli()
	return cfg
}

// URLs returns the ICE server URLs of an embedded server reachable at host
// (a name or an IP address): TURN over UDP and TCP on port, and TURN over
// TLS on tlsPort when it is not zero.
func URLs(host string, port, tlsPort int) []string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	hp := host + ":" + strconv.Itoa(port)
	urls := []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}
	if tlsPort != 0 {
		urls = append(urls, "turns:"+host+":"+strconv.Itoa(tlsPort)+"?transport=tcp")
	}
	return urls
}

// CheckURL reports whether u is a STUN or TURN URL a browser accepts
// (RFC 7064/7065): scheme stun, stuns, turn or turns; a host; an optional
// port; for TURN an optional transport=udp|tcp.
func CheckURL(u string) error {
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok {
		return fmt.Errorf("ICE server URL %q has no scheme", u)
	}
	switch scheme {
	case "stun", "stuns", "turn", "turns":
	default:
		return fmt.Errorf("ICE server URL %q: scheme must be stun, stuns, turn or turns", u)
	}
	hostport, query, hasQuery := strings.Cut(rest, "?")
	if hasQuery {
		if !strings.HasPrefix(scheme, "turn") {
			return fmt.Errorf("ICE server URL %q: a STUN URL takes no query", u)
		}
		if query != "transport=udp" && query != "transport=tcp" {
			return fmt.Errorf("ICE server URL %q: query must be transport=udp or transport=tcp", u)
		}
	}
	if hostport == "" || strings.ContainsAny(hostport, "/@ ") {
		return fmt.Errorf("ICE server URL %q: bad host", u)
	}
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("ICE server URL %q: bad port", u)
		}
		host = h
	}
	if host == "" {
		return fmt.Errorf("ICE server URL %q: no host", u)
	}
	return nil
}
