package e2e

import (
	"testing"
	"time"
)

// pcState summarizes a page's peer connections for TestSDKAnswerPrepared:
// per connection its signaling state, the types of its descriptions, and how
// many remote candidates and candidate pairs its ICE agent knows.
const pcState = `(async () => { const out = []; for (const pc of window.pcs) { if (pc.connectionState === "closed") continue;
  let remote = 0, pairs = 0; (await pc.getStats()).forEach((s) => { if (s.type === "remote-candidate") remote++; if (s.type === "candidate-pair") pairs++; });
  out.push({sig: pc.signalingState, local: pc.localDescription && pc.localDescription.type, remote: pc.remoteDescription && pc.remoteDescription.type,
    remoteCands: remote, pairs, sdpCands: pc.remoteDescription ? (pc.remoteDescription.sdp.match(/a=candidate:/g) || []).length : 0}); } return out; })()`

type pcSummary struct {
	Sig         string `json:"sig"`
	Local       string `json:"local"`
	Remote      string `json:"remote"`
	RemoteCands int    `json:"remoteCands"`
	Pairs       int    `json:"pairs"`
	SDPCands    int    `json:"sdpCands"`
}

// TestSDKAnswerPrepared: while Bob's page rings, Alice's offer is already
// applied there and Bob's answer prepared, but nothing of Bob's reaches
// Alice (her connection has no remote description) and Bob's ICE agent knows
// none of Alice's candidates, so no connectivity check reveals his address.
// Answering sends the prepared answer: the call connects with media both
// ways and without negotiating again (one offer, one answer each side).
func TestSDKAnswerPrepared(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	alice.ok(`Parley.makeVideoCall(["bob"])`)
	bob.waitEvent("incomingCallListener", `true`)
	// Bob's page prepares: one connection, the offer applied, the answer set.
	waitJS(t, bob.ctx, `window.pcs.length === 1 && window.pcs[0].signalingState === "stable" && window.pcs[0].localDescription && window.pcs[0].localDescription.type === "answer"`, 15*time.Second)
	time.Sleep(500 * time.Millisecond) // time for anything that would leak to leak
	for _, u := range []*sdkUser{alice, bob} {
		eval[bool](t, u.ctx, `(window.sigs = 0, window.pcs.forEach((pc) => { const o = pc.setRemoteDescription.bind(pc); pc.setRemoteDescription = (d) => (window.sigs++, o(d)); }), true)`)
	}
	ring := eval[[]pcSummary](t, bob.ctx, pcState)
	if len(ring) != 1 || ring[0].Remote != "offer" || ring[0].Local != "answer" || ring[0].RemoteCands != 0 || ring[0].Pairs != 0 || ring[0].SDPCands != 0 {
		t.Fatalf("Bob's page while it rings: %+v; want the offer applied without any of Alice's candidates", ring)
	}
	caller := eval[[]pcSummary](t, alice.ctx, pcState)
	if len(caller) != 1 || caller[0].Sig != "have-local-offer" || caller[0].Remote != "" || caller[0].RemoteCands != 0 {
		t.Fatalf("Alice's page while Bob's rings: %+v; want her offer out and nothing of Bob's", caller)
	}
	bob.ok(`Parley.answerCall()`)
	alice.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === "bob@localhost"`)
	bob.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === "alice@localhost"`)
	alice.mediaFlows("bob@localhost")
	bob.mediaFlows("alice@localhost")
	waitJS(t, alice.ctx, `window.firstFrame["bob@localhost"]`, 15*time.Second)
	waitJS(t, bob.ctx, `window.firstFrame["alice@localhost"]`, 15*time.Second)
	if n := eval[int](t, alice.ctx, `window.sigs`); n != 1 {
		t.Errorf("Alice applied %d remote descriptions after Bob answered, want his one prepared answer", n)
	}
	if n := eval[int](t, bob.ctx, `window.sigs`); n != 0 {
		t.Errorf("Bob applied %d offers after answering, want none: the pair negotiated again", n)
	}
	if got := eval[[]pcSummary](t, bob.ctx, pcState); len(got) != 1 || got[0].RemoteCands == 0 {
		t.Errorf("Bob's page after answering: %+v; want Alice's held candidates added", got)
	}
}

// TestSDKAnswerBeforeCameraOpens: Bob's site may use his camera already, and
// his camera is slow to open (held here until the test lets it). Answering
// does not wait for it: Bob sees Alice's video while his camera still opens,
// answerCall resolves once it is open, and then Alice sees Bob's.
func TestSDKAnswerBeforeCameraOpens(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob := newSDKUser(t, b, srv.URL), newSDKUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	eval[bool](t, bob.ctx, `(() => {
	  const gate = new Promise((open) => { window.openCamera = open; });
	  const gum = MediaDevices.prototype.getUserMedia;
	  MediaDevices.prototype.getUserMedia = function (c) { return gum.call(this, c).then((s) => gate.then(() => s)); };
	  return true;
	})()`)
	alice.ok(`Parley.makeVideoCall(["bob"])`)
	bob.waitEvent("incomingCallListener", `true`)
	time.Sleep(500 * time.Millisecond) // a person takes longer to pick up
	eval[bool](t, bob.ctx, `(window.answered = null, Parley.answerCall().then((r) => { window.answered = r; }), true)`)
	waitJS(t, bob.ctx, `window.firstFrame["alice@localhost"]`, 15*time.Second)
	if got := eval[bool](t, bob.ctx, `window.answered !== null`); got {
		t.Fatal("answerCall resolved before Bob's camera opened")
	}
	if got := eval[bool](t, alice.ctx, `!!window.firstFrame["bob@localhost"]`); got {
		t.Fatal("Alice decoded Bob's video before his camera opened")
	}
	eval[bool](t, bob.ctx, `(window.openCamera(), true)`)
	waitJS(t, bob.ctx, `window.answered !== null`, 15*time.Second)
	if code := eval[int](t, bob.ctx, `window.answered.statusCode`); code != 200 {
		t.Fatalf("answerCall: %s", eval[string](t, bob.ctx, `JSON.stringify(window.answered)`))
	}
	waitJS(t, alice.ctx, `window.firstFrame["bob@localhost"]`, 15*time.Second)
	alice.mediaFlows("bob@localhost")
	bob.mediaFlows("alice@localhost")
}
