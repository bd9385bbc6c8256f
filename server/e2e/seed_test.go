package e2e

// The seed's points, each proved through window.Parley in headless Chromium.
// Each test names the seed point it keeps true.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// seedRig records every listener of the SDK contract in window.ev (a track is
// recorded as its kind) and initializes the SDK with them. Unlike sdkRig it
// plays no media: these tests look at events and envelopes only.
const seedRig = `(async () => {
  window.ev = [];
  const rec = (name) => (...args) => window.ev.push({name, at: Date.now(), args: JSON.parse(JSON.stringify(args.map((a) => a && a.track !== undefined ? {...a, track: a.track ? a.track.kind : null} : a)))});
  const listeners = {};
  ["incomingCallListener", "callStatusListener", "userTrackListener", "muteStatusListener", "missedCallListener",
   "mediaErrorListener", "connectionListener", "callSwitchListener", "inviteUsersListener", "customDataListener",
   "callUsersUpdateListener", "callUserJoinedListener", "callUserLeftListener", "callSpeakingListener",
   "callJoinRequestListener"]
    .forEach((n) => listeners[n] = rec(n));
  await Parley.ready;
  return await Parley.initializeSDK({callbackListeners: listeners});
})()`

// newSeedUser opens the SDK playground in a fresh browser context and
// initializes the SDK with seedRig.
func newSeedUser(t *testing.T, b *browser, origin string) *sdkUser {
	t.Helper()
	u := &sdkUser{t: t, ctx: newUser(t, b)}
	navigate(t, u.ctx, origin+"/web/sdk.html")
	if env := u.call(seedRig); env.StatusCode != 200 {
		t.Fatalf("initializeSDK: %+v", env)
	}
	return u
}

// registerOnly creates the account name from u's page and signs out again, so
// that u can sign in as someone else: for callees that need no browser.
func (u *sdkUser) registerOnly(names ...string) {
	u.t.Helper()
	for _, name := range names {
		u.ok(fmt.Sprintf(`Parley.register(%q, "correct horse battery", %q)`, name, "User "+name))
		u.ok(`Parley.logout()`)
	}
}

// value evaluates expr in u's page and returns its JSON encoding.
func (u *sdkUser) value(expr string) string {
	u.t.Helper()
	return eval[string](u.t, u.ctx, `(async () => JSON.stringify(await (`+expr+`)))()`)
}

// inCall sets up a 1:1 voice call from caller to callee and waits until the
// callee's engine has the call (answered, the caller sees them connected).
func inCall(t *testing.T, caller, callee *sdkUser) {
	t.Helper()
	caller.ok(fmt.Sprintf(`Parley.makeVoiceCall([%q])`, callee.jid))
	callee.waitEvent("incomingCallListener", `a.userJid === `+strconv.Quote(caller.jid))
	callee.ok(`Parley.answerCall()`)
	caller.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === `+strconv.Quote(callee.jid))
	callee.waitEvent("callStatusListener", `a.status === "connected" && a.userJid === `+strconv.Quote(caller.jid))
}

// aliceCallsBob starts a server and two SDK pages, alice and bob, in a voice
// call with each other.
func aliceCallsBob(t *testing.T) (alice, bob *sdkUser) {
	t.Helper()
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob = newSeedUser(t, b, srv.URL), newSeedUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	inCall(t, alice, bob)
	return alice, bob
}

// TestSeedCallLogsArray (seed point 1): getCallLogs' data is an Array of call
// logs, 20 a page, newest first, and the page count sits beside data at the
// top level of the envelope.
func TestSeedCallLogsArray(t *testing.T) {
	// 21 rings of one callee in a row: over the default per-pair ring limit.
	srv := startServerWith(t, serverOptions{Args: []string{"-pair-ring-burst", "21"}})
	b := newBrowser(t)
	alice := newSeedUser(t, b, srv.URL)
	alice.registerOnly("bob")
	alice.register("alice")

	// A fresh account: an empty Array and no pages.
	if got := alice.value(`Parley.getCallLogs(1).then((r) => [r.statusCode, Array.isArray(r.data), r.data.length, r.totalPages])`); got != `[200,true,0,0]` {
		t.Fatalf("getCallLogs(1) on a new account: [statusCode, isArray(data), data.length, totalPages] = %s, want [200,true,0,0]", got)
	}
	// 21 calls make two pages.
	var rooms []string
	for i := 0; i < 21; i++ {
		eval[bool](t, alice.ctx, `(window.ev = [], true)`)
		env := alice.ok(`Parley.makeVoiceCall(["bob@localhost"])`)
		var ref struct{ RoomID string }
		if err := json.Unmarshal(env.Data, &ref); err != nil || ref.RoomID == "" {
			t.Fatalf("makeVoiceCall data %s (%v)", env.Data, err)
		}
		rooms = append(rooms, ref.RoomID)
		alice.ok(`Parley.endCall()`)
		alice.waitEvent("callStatusListener", `a.status === "ended" && a.localUser`)
	}
	type page struct {
		StatusCode int               `json:"statusCode"`
		Message    string            `json:"message"`
		Data       []json.RawMessage `json:"data"`
		TotalPages *int              `json:"totalPages"`
	}
	read := func(n int) page {
		t.Helper()
		raw := alice.value(fmt.Sprintf(`Parley.getCallLogs(%d)`, n))
		var p page
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatalf("getCallLogs(%d) = %s: data is not an Array of call logs (%v)", n, raw, err)
		}
		if p.StatusCode != 200 || p.Message == "" || p.TotalPages == nil {
			t.Fatalf("getCallLogs(%d) = %s: want statusCode 200, a message and totalPages beside data", n, raw)
		}
		return p
	}
	p1, p2, p3 := read(1), read(2), read(3)
	if len(p1.Data) != 20 || len(p2.Data) != 1 || len(p3.Data) != 0 || *p1.TotalPages != 2 || *p2.TotalPages != 2 || *p3.TotalPages != 2 {
		t.Fatalf("pages 1, 2, 3 hold %d, %d, %d logs with totalPages %d, %d, %d; want 20, 1, 0 with totalPages 2",
			len(p1.Data), len(p2.Data), len(p3.Data), *p1.TotalPages, *p2.TotalPages, *p3.TotalPages)
	}
	var newest, oldest struct {
		RoomID    string `json:"roomId"`
		CallState string `json:"callState"`
		FromUser  string `json:"fromUser"`
	}
	_ = json.Unmarshal(p1.Data[0], &newest)
	_ = json.Unmarshal(p2.Data[0], &oldest)
	if newest.RoomID != rooms[20] || oldest.RoomID != rooms[0] || newest.CallState != "outgoing" || newest.FromUser != "alice@localhost" {
		t.Fatalf("newest log %+v (want room %s, outgoing, from alice), oldest %+v (want room %s)", newest, rooms[20], oldest, rooms[0])
	}
	// The envelope has exactly the contract's keys.
	if got := alice.value(`Parley.getCallLogs(2).then((r) => Object.keys(r).sort())`); got != `["data","message","statusCode","totalPages"]` {
		t.Fatalf("getCallLogs envelope keys %s", got)
	}
}

// TestSeedSubscribeCallName (seed point 2): subscribeCall's USERNAME is the
// current user's display name in that call for a signed-in user too, not only
// for a guest: the others' getCallUsername, callUserJoinedListener,
// callUsersUpdateListener and an invitee's userDetails show it.
func TestSeedSubscribeCallName(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob, carol, dana := newSeedUser(t, b, srv.URL), newSeedUser(t, b, srv.URL), newSeedUser(t, b, srv.URL), newSeedUser(t, b, srv.URL)
	for u, name := range map[*sdkUser]string{alice: "alice", bob: "bob", carol: "carol", dana: "dana"} {
		u.register(name)
	}
	inCall(t, alice, bob)
	var link string
	if err := json.Unmarshal(alice.ok(`Parley.getCallLink()`).Data, &link); err != nil || link == "" {
		t.Fatalf("getCallLink: %q (%v)", link, err)
	}

	// Carol, signed in, previews the call and watches who is in it.
	carol.ok(fmt.Sprintf(`Parley.subscribeCall(%q, "Carol watching", () => {})`, link))
	carol.waitEvent("callUsersUpdateListener", `a.usersList.some((x) => x.userJid === "alice@localhost")`)

	// Dana, signed in as "User dana", joins under another name.
	const name = "Dana in the lobby"
	dana.ok(fmt.Sprintf(`new Promise((res) => Parley.subscribeCall(%q, %q, (ok, err) => res(ok || err)))`, link, name))
	dana.startJoin()
	if req := alice.admitKnock(`a.userJid === "dana@localhost"`); req["displayName"] != name || req["guest"] != false {
		t.Errorf("dana's join request %v", req)
	}
	if env := dana.awaitJoin(); env.StatusCode != 200 {
		t.Fatalf("dana's joinCall: %+v", env)
	}

	joined := alice.waitEvent("callUserJoinedListener", `a.userJid === "dana@localhost"`)
	if joined["displayName"] != name {
		t.Errorf("alice's callUserJoinedListener for dana: displayName %v, want %q", joined["displayName"], name)
	}
	bob.waitEvent("callUserJoinedListener", `a.userJid === "dana@localhost"`)
	for who, u := range map[string]*sdkUser{"alice": alice, "bob": bob, "dana herself": dana} {
		if got := u.value(`Parley.getCallUsername("dana@localhost")`); got != strconv.Quote(name) {
			t.Errorf("%s: getCallUsername(dana) = %s, want %q", who, got, name)
		}
	}
	seen := carol.waitEvent("callUsersUpdateListener", `a.usersList.some((x) => x.userJid === "dana@localhost")`)
	for _, x := range seen["usersList"].([]any) {
		if x := x.(map[string]any); x["userJid"] == "dana@localhost" && x["displayName"] != name {
			t.Errorf("carol's callUsersUpdateListener lists dana as %v, want %q", x["displayName"], name)
		}
	}

	// Dana invites carol: carol's ring names dana by her name in the call.
	carol.ok(`Parley.unsubscribeCall()`)
	dana.ok(`Parley.inviteUsers(["carol@localhost"])`)
	in := carol.waitEvent("incomingCallListener", `true`)
	if d, _ := in["userDetails"].(map[string]any); d["displayName"] != name {
		t.Errorf("carol's incomingCallListener from dana's invite: userDetails %v, want displayName %q", in["userDetails"], name)
	}
}

// TestSeedInviteeIncomingCall (seed point 3): an invitee's
// incomingCallListener names who invited them in userJid (not the original
// caller), and toUsers lists everyone in the call, the invitee included.
func TestSeedInviteeIncomingCall(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice, bob, carol := newSeedUser(t, b, srv.URL), newSeedUser(t, b, srv.URL), newSeedUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	carol.register("carol")
	inCall(t, alice, bob)
	bob.ok(`Parley.inviteUsers(["carol@localhost"])`)
	in := carol.waitEvent("incomingCallListener", `true`)
	if in["userJid"] != "bob@localhost" {
		t.Errorf("invitee's incomingCallListener userJid = %v, want the inviter bob@localhost (payload %v)", in["userJid"], in)
	}
	if d, _ := in["userDetails"].(map[string]any); d["displayName"] != "User bob" {
		t.Errorf("invitee's userDetails %v, want the inviter's displayName \"User bob\"", in["userDetails"])
	}
	have := map[string]bool{}
	to, _ := in["toUsers"].([]any)
	for _, j := range to {
		have[fmt.Sprint(j)] = true
	}
	for _, j := range []string{"alice@localhost", "bob@localhost", "carol@localhost"} {
		if !have[j] {
			t.Errorf("invitee's toUsers %v lacks %s: it must list everyone in the call, the invitee included", to, j)
		}
	}
}

// TestSeedCallUsernameJIDCase (seed point 4): getCallUsername compares JIDs
// case-insensitively, as the server lowercases them.
func TestSeedCallUsernameJIDCase(t *testing.T) {
	alice, bob := aliceCallsBob(t)
	for _, jid := range []string{"bob@localhost", "BOB@localhost", "Bob@LocalHost", "BOB"} {
		if got := alice.value(fmt.Sprintf(`Parley.getCallUsername(%q)`, jid)); got != `"User bob"` {
			t.Errorf("getCallUsername(%q) = %s, want \"User bob\"", jid, got)
		}
	}
	if got := bob.value(`Parley.getCallUsername("ALICE@LOCALHOST")`); got != `"User alice"` {
		t.Errorf("bob: getCallUsername(\"ALICE@LOCALHOST\") = %s, want \"User alice\"", got)
	}
}

// TestSeedNotInCallCode (seed point 5): "not in a call" is 100609 for every
// method that needs a call.
func TestSeedNotInCallCode(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	alice := newSeedUser(t, b, srv.URL)
	alice.register("alice")
	for _, expr := range []string{
		`Parley.endCall()`,
		`Parley.sendCustomData({hello: "world"})`,
		`Parley.sendCustomData("hello")`,
		`Parley.getCallLink()`,
		`Parley.inviteUsers(["bob@localhost"])`,
		`Parley.muteAudio(true)`,
		`Parley.requestVideoCallSwitch()`,
	} {
		env := alice.call(expr)
		if env.StatusCode != 100609 || env.Message == "" {
			t.Errorf("%s outside a call: %+v, want statusCode 100609 with a message", expr, env)
		}
	}
}

// TestSeedCustomDataUnencodable (seed point 5): a value JSON.stringify cannot
// encode (a BigInt, a cycle) is the caller's bad argument, 400, not 500, and
// the call carries on: the next good value arrives.
func TestSeedCustomDataUnencodable(t *testing.T) {
	alice, bob := aliceCallsBob(t)
	for _, expr := range []string{
		`Parley.sendCustomData(10n)`,
		`Parley.sendCustomData({count: 10n})`,
		`(() => { const a = {name: "loop"}; a.self = a; return Parley.sendCustomData(a); })()`,
		`Parley.sendCustomData({toJSON() { throw new Error("no JSON here") }})`,
		`Parley.muteAudio(1n)`,
	} {
		alice.expect(400, expr)
	}
	alice.ok(`Parley.sendCustomData({after: "the bad ones"})`)
	bob.waitEvent("customDataListener", `a && a.after === "the bad ones"`)
	if n := eval[int](t, bob.ctx, `window.ev.filter((e) => e.name === "customDataListener").length`); n != 1 {
		t.Fatalf("bob got %d custom data values, want only the good one", n)
	}
}

// TestSeedEndCallWhileDialling (seed point 6): endCall before the reply to
// makeVoiceCall arrives still ends the call on the server: the callee stops
// ringing long before the ring timeout (10 minutes here, so that only ending
// the call can stop it), and the caller can call again.
func TestSeedEndCallWhileDialling(t *testing.T) {
	srv := startServerWith(t, serverOptions{RingTimeout: 10 * time.Minute})
	b := newBrowser(t)
	alice, bob := newSeedUser(t, b, srv.URL), newSeedUser(t, b, srv.URL)
	alice.register("alice")
	bob.register("bob")
	got := alice.value(`(async () => {
  const p = Parley.makeVoiceCall(["bob@localhost"]);
  const e = await Parley.endCall();
  return {end: e, make: await p};
})()`)
	var res struct{ End, Make envelope }
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("endCall while dialling: %s (%v)", got, err)
	}
	if res.End.StatusCode != 200 {
		t.Errorf("endCall while makeVoiceCall was pending: %+v, want 200 (it ends that call)", res.End)
	}
	// Bob must not be left ringing: every call that rang him is over for him.
	// (He may never have rung at all if the call ended before it reached
	// the server.)
	const stillRinging = `window.ev.filter((e) => e.name === "incomingCallListener").map((e) => e.args[0].roomId)
  .filter((room) => !window.ev.some((m) => m.name === "missedCallListener" && m.args[0].roomId === room))`
	waitJS(t, bob.ctx, stillRinging+`.length === 0`, 20*time.Second)

	// The server holds neither of them in a call: alice calls again and bob rings.
	second := alice.ok(`Parley.makeVoiceCall(["bob@localhost"])`)
	var ref struct{ RoomID string }
	_ = json.Unmarshal(second.Data, &ref)
	bob.waitEvent("incomingCallListener", `a.roomId === `+strconv.Quote(ref.RoomID))
	alice.waitEvent("callStatusListener", `a.status === "ringing" && a.userJid === "bob@localhost"`)
	if left := eval[[]string](t, bob.ctx, stillRinging+`.filter((room) => room !== `+strconv.Quote(ref.RoomID)+`)`); len(left) > 0 {
		t.Fatalf("bob still rings for %v after alice ended it", left)
	}
	alice.ok(`Parley.endCall()`)
	bob.waitEvent("missedCallListener", `a.roomId === `+strconv.Quote(ref.RoomID))
}

// TestSeedCallSizeServerLimit (seed point 7): makeVoiceCall/makeVideoCall
// check the size against the server's -max-participants, counting the callees
// without duplicates and without yourself.
func TestSeedCallSizeServerLimit(t *testing.T) {
	b := newBrowser(t)
	t.Run("max 3", func(t *testing.T) {
		srv := startServerWith(t, serverOptions{Args: []string{"-max-participants", "3"}})
		alice := newSeedUser(t, b, srv.URL)
		alice.registerOnly("bob", "carol", "dave")
		alice.register("alice")
		alice.ok(`Parley.makeVoiceCall(["bob@localhost", "bob@localhost", "carol@localhost", "alice@localhost"])`)
		alice.ok(`Parley.endCall()`)
		alice.waitEvent("callStatusListener", `a.status === "ended" && a.localUser`)
		alice.expect(100603, `Parley.makeVoiceCall(["bob@localhost", "carol@localhost", "dave@localhost"])`)
		alice.expect(100603, `Parley.makeVideoCall(["bob", "carol", "dave"])`)
	})
	t.Run("max 10", func(t *testing.T) {
		srv := startServerWith(t, serverOptions{Args: []string{"-max-participants", "10"}})
		alice := newSeedUser(t, b, srv.URL)
		var users []string
		for i := 1; i <= 10; i++ {
			users = append(users, fmt.Sprintf("user%d", i))
		}
		alice.registerOnly(users...)
		alice.register("alice")
		list := func(names ...string) string {
			q := make([]string, len(names))
			for i, n := range names {
				q[i] = strconv.Quote(n + "@localhost")
			}
			return "[" + strings.Join(q, ", ") + "]"
		}
		// Nine others make ten: allowed, though more than the default 8.
		alice.ok(`Parley.makeVideoCall(` + list(users[:9]...) + `)`)
		alice.ok(`Parley.endCall()`)
		alice.waitEvent("callStatusListener", `a.status === "ended" && a.localUser`)
		eval[bool](t, alice.ctx, `(window.ev = [], true)`)
		// Eleven entries, but nine others once duplicates and yourself go.
		alice.ok(`Parley.makeVoiceCall(` + list(append(users[:9:9], "user1", "alice")...) + `)`)
		alice.ok(`Parley.endCall()`)
		alice.waitEvent("callStatusListener", `a.status === "ended" && a.localUser`)
		alice.expect(100603, `Parley.makeVoiceCall(`+list(users...)+`)`)
	})
}

// interceptFail makes every request of u's tab whose URL matches pattern fail
// as a network error, through the DevTools Fetch domain. Call it before
// navigating.
func interceptFail(t *testing.T, ctx context.Context, pattern string) {
	t.Helper()
	paused := make(chan fetch.RequestID, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			select {
			case paused <- e.RequestID:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			select {
			case id := <-paused:
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: network.ErrorReasonFailed})
			case <-ctx.Done():
				return
			}
		}
	}()
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		t.Fatalf("enable request interception: %v", err)
	}
}

// TestSeedLoaderNeverRejects (seed point 8): when the engine cannot load,
// Parley.ready and every method resolve to {statusCode: 100620, message};
// an exception inside the engine, and the engine stopping, resolve to an
// envelope too. The SDK never rejects.
func TestSeedLoaderNeverRejects(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t)
	// Each expression must resolve (a rejection fails eval) to an envelope.
	unreachable := func(t *testing.T, u *sdkUser) {
		t.Helper()
		for _, expr := range []string{
			`Parley.ready`,
			`Parley.initializeSDK({})`,
			`Parley.connect("alice", "correct horse battery")`,
			`Parley.makeVoiceCall(["bob@localhost"])`,
			`Parley.getCallUsername("bob@localhost")`,
			`Parley.endCall()`,
		} {
			env := u.call(expr)
			if env.StatusCode != 100620 || env.Message == "" {
				t.Errorf("%s with the engine unable to load: %+v, want statusCode 100620 with a message", expr, env)
			}
		}
	}
	for _, tc := range []struct{ name, pattern string }{
		{"sdk.wasm fails", "*/web/sdk.wasm*"},
		{"wasm_exec.js fails", "*/wasm_exec.js*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &sdkUser{t: t, ctx: newUser(t, b)}
			interceptFail(t, u.ctx, tc.pattern)
			navigate(t, u.ctx, srv.URL+"/web/sdk.html")
			unreachable(t, u)
		})
	}
	t.Run("the engine throws", func(t *testing.T) {
		u := newSeedUser(t, b, srv.URL)
		if env := u.call(`Parley.ready`); env.StatusCode != 200 || env.Message == "" {
			t.Fatalf("Parley.ready with the engine running: %+v, want statusCode 200 with a message", env)
		}
		// Arguments that throw when the engine reads them are bad
		// arguments, and the engine carries on.
		const boom = `{get() { throw new Error("boom") }}`
		u.expect(400, `Parley.showCallNotification(new Proxy({}, `+boom+`))`)
		u.expect(400, `Parley.initializeSDK({get serverUrl() { throw new Error("boom") }})`)
		u.expect(400, `Parley.makeVoiceCall(new Proxy(["bob@localhost"], `+boom+`))`)
		u.expect(400, `Parley.sendCustomData(new Proxy({}, `+boom+`))`)
		u.ok(`Parley.initializeSDK({})`)
		var env envelope
		// Crash the Go program inside a call: the engine creates its
		// Promise through window.Promise.
		env = u.call(`(async () => {
  const P = window.Promise;
  window.Promise = function () { throw new Error("no promises today") };
  try { return await Parley.getCallLogs(1); } finally { window.Promise = P; }
})()`)
		if env.StatusCode != 500 || env.Message == "" {
			t.Fatalf("a call that crashes the engine: %+v, want statusCode 500 with a message", env)
		}
		env = u.call(`Parley.getCallLogs(1)`)
		if env.StatusCode != 500 || env.Message == "" {
			t.Fatalf("a call after the engine stopped: %+v, want statusCode 500 with a message", env)
		}
	})
}
