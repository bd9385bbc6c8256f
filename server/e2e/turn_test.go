package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// selectedPath describes the candidate pair every peer connection of the
// page uses: "<local type>/<relay protocol> -> <remote type>", one per
// connection.
const selectedPath = `(async () => {
  const out = [];
  for (const pc of window.pcs) {
    const st = await pc.getStats();
    let pair = null;
    st.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pair = st.get(s.selectedCandidatePairId); });
    if (!pair) st.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
    if (!pair) { out.push("none"); continue; }
    const l = st.get(pair.localCandidateId), r = st.get(pair.remoteCandidateId);
    out.push(l.candidateType + "/" + (l.relayProtocol || l.protocol) + " -> " + r.candidateType);
  }
  return out.join(", ");
})()`

// scrape returns the value of the Prometheus sample name (no labels) on
// the server's /metrics.
func scrape(t *testing.T, srv *server, name string) float64 {
	t.Helper()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+-]+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("/metrics has no %s:\n%s", name, b)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRelayOnlyCall makes video calls in which media can only flow through
// Parley's embedded TURN server (the server's policy is relay, so the
// browsers gather relayed candidates only), once with TURN over UDP and once
// over TCP: both sides decode the other's video, every connection's
// selected pair is relay to relay over that transport, and /metrics counts
// the allocations.
func TestRelayOnlyCall(t *testing.T) {
	b := newBrowser(t)
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			srv := startServerWith(t, serverOptions{Args: []string{"-turn-addr", "127.0.0.1:0", "-ice-transport-policy", "relay"}})
			alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
			for _, u := range []*sdkUser{alice, bob} {
				eval[bool](t, u.ctx, `(window.onlyTURN = `+strconv.Quote(transport)+`, true)`)
			}
			alice.register("alice")
			bob.register("bob")
			videoCall(alice, bob)
			for _, u := range []*sdkUser{alice, bob} {
				path := eval[string](t, u.ctx, selectedPath)
				if path != "relay/"+transport+" -> relay" {
					t.Fatalf("%s's media path is %q, want relay/%s -> relay", u.jid, path, transport)
				}
			}
			if n := scrape(t, srv, "parley_turn_allocations"); n < 2 {
				t.Fatalf("parley_turn_allocations = %v during a relayed call, want at least 2", n)
			}
			if n := scrape(t, srv, "parley_turn_relayed_bytes_total"); n <= 0 {
				t.Fatalf("parley_turn_relayed_bytes_total = %v after a relayed call", n)
			}
			alice.ok(`Parley.endCall()`)
			bob.waitEvent("callStatusListener", `a.status === "ended"`)
		})
	}
}

// TestRelayPolicyFromThePage: the server allows every path, but a page that
// asks for relay-only through initializeSDK gets it; its peer, which did not
// ask, still connects to it (through the relay).
func TestRelayPolicyFromThePage(t *testing.T) {
	b := newBrowser(t)
	srv := startServerWith(t, serverOptions{Args: []string{"-turn-addr", "127.0.0.1:0"}})
	alice := newSDKUserAt(t, b, srv.URL+"/web/sdk.html", `{iceTransportPolicy: "relay"}`)
	bob := newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	videoCall(alice, bob)
	if path := eval[string](t, alice.ctx, selectedPath); !strings.HasPrefix(path, "relay/") {
		t.Fatalf("alice asked for relay only but her path is %q", path)
	}
}
