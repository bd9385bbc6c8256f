package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/coder/websocket"
)

func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "127.0.0.1", " ", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{"no proxies configured: the header is ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, nil, "203.0.113.9:5000"},
		{"an untrusted peer's header is ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, trusted, "203.0.113.9:5000"},
		{"a trusted proxy names the client", "127.0.0.1:5000", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"the client cannot prepend its own entries", "127.0.0.1:5000", []string{"1.1.1.1, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"chained proxies are skipped", "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9", "10.0.0.7"}, trusted, "198.51.100.1"},
		{"ports and brackets", "[::1]:5000", []string{"[2001:db8::5]:443"}, trusted, "2001:db8::5"},
		{"garbage entries are skipped", "127.0.0.1:5000", []string{"unknown, 198.51.100.1, nonsense"}, trusted, "198.51.100.1"},
		{"no header from a proxy: the proxy", "127.0.0.1:5000", nil, trusted, "127.0.0.1:5000"},
		{"only proxies: the first", "127.0.0.1:5000", []string{"10.0.0.1, 10.0.0.2"}, trusted, "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/ws", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddr(r, tc.trusted); got != tc.want {
				t.Fatalf("clientAddr = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("a bad prefix was accepted")
	}
	if _, err := ParseTrustedProxies([]string{"proxy.example"}); err == nil {
		t.Fatal("a host name was accepted")
	}
}

// TestRemoteIPv6Prefix: per-address limits count an IPv6 /64 as one address.
func TestRemoteIPv6Prefix(t *testing.T) {
	for in, want := range map[string]string{
		"[2001:db8:1:2:aaaa::1]:443": "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9":       "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1",
		"192.0.2.1:80":               "192.0.2.1",
		"pipe":                       "pipe",
	} {
		if got := remoteIP(in); got != want {
			t.Errorf("remoteIP(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTrustedProxyLimits: behind a trusted proxy the per-address connection
// cap counts the forwarded client addresses, not the proxy's; without the
// setting a forged header changes nothing.
func TestTrustedProxyLimits(t *testing.T) {
	dial := func(e *env, xff string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		ws, resp, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {xff}}})
		if err != nil {
			if resp == nil {
				t.Fatalf("dial: %v", err)
			}
			return resp.StatusCode
		}
		t.Cleanup(func() { ws.CloseNow() })
		return http.StatusSwitchingProtocols
	}
	proxies, _ := ParseTrustedProxies([]string{"127.0.0.0/8", "::1"})
	behind := newEnv(t, Config{MaxConnectionsPerIP: 1, TrustedProxies: proxies})
	if code := dial(behind, "198.51.100.1"); code != http.StatusSwitchingProtocols {
		t.Fatalf("first client: %d", code)
	}
	if code := dial(behind, "198.51.100.2"); code != http.StatusSwitchingProtocols {
		t.Fatalf("second client behind the same proxy: %d, want accepted", code)
	}
	if code := dial(behind, "198.51.100.1"); code != http.StatusTooManyRequests {
		t.Fatalf("the first client again: %d, want 429", code)
	}

	direct := newEnv(t, Config{MaxConnectionsPerIP: 1})
	if code := dial(direct, "198.51.100.1"); code != http.StatusSwitchingProtocols {
		t.Fatalf("first: %d", code)
	}
	if code := dial(direct, "198.51.100.2"); code != http.StatusTooManyRequests {
		t.Fatalf("a forged header escaped the cap: %d, want 429", code)
	}
}
