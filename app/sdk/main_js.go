//go:build js && wasm

// Command sdk is the Parley JavaScript SDK: built to web/sdk.wasm and loaded by
// /parley.js, it gives window.Parley the call API of the SDK contract on top of
// the same call engine the PWA uses.
package main

import (
	"context"
	"fmt"
	"syscall/js"

	"parley/app/browser"
	"parley/app/call"
	"parley/app/call/event"
	"parley/app/wire"
)

func main() {
	s := &sdk{}
	obj := js.Global().Get("Object").New()
	table := s.methods()
	for _, name := range methodNames {
		fn, ok := table[name]
		if !ok {
			// methods_test.go keeps this from shipping; if it does, the
			// loader answers the missing method with an error envelope.
			js.Global().Get("console").Call("error", "Parley: the SDK has no method "+name)
			continue
		}
		obj.Set(name, promiseFunc(fn))
	}
	ready := js.Global().Get("__parleyReady")
	if ready.Type() == js.TypeFunction {
		ready.Invoke(obj)
	} else {
		js.Global().Set("__parleySDK", obj)
	}
	select {}
}

type sdk struct {
	engine    *call.Engine
	listeners js.Value // the page's callbackListeners object
}

func (s *sdk) methods() map[string]method {
	return map[string]method{
		"initializeSDK": s.initializeSDK,
		"register":      s.register,
		"connect":       s.connect,
		"logout": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			browser.TabRemove(sdkTabKey)
			return result(e.Logout(ctx), "Logged out.")
		}),
		"makeVoiceCall": s.makeCall(false),
		"makeVideoCall": s.makeCall(true),
		"answerCall": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.AnswerCall(ctx), "Call answered.")
		}),
		"declineCall": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.DeclineCall(ctx), "Call declined.")
		}),
		"endCall": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.EndCall(ctx), "Call ended.")
		}),
		"muteAudio":            s.mute(false),
		"muteVideo":            s.mute(true),
		"isUserAudioMuted":     s.isMuted(false),
		"isUserVideoMuted":     s.isMuted(true),
		"getCallLogs":          s.getCallLogs,
		"showCallNotification": s.showCallNotification,
		"getCallLink":          s.withEngine(s.getCallLink),
		"inviteUsers":          s.withEngine(s.inviteUsers),
		"requestVideoCallSwitch": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.RequestVideoCallSwitch(ctx), "Video switch requested.")
		}),
		"cancelVideoCallSwitchRequest": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.CancelVideoCallSwitchRequest(ctx), "Video switch request cancelled.")
		}),
		"acceptVideoCallSwitchRequest": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.AcceptVideoCallSwitchRequest(ctx), "Switched to video.")
		}),
		"declineVideoCallSwitchRequest": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.DeclineVideoCallSwitchRequest(ctx), "Video switch declined.")
		}),
		"sendCustomData": s.withEngine(s.sendCustomData),
		"subscribeCall":  s.withEngine(s.subscribeCall),
		"joinCall":       s.withEngine(s.joinCall),
		"unsubscribeCall": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.UnsubscribeCall(ctx), "Left the call preview.")
		}),
		"getCallUsername": s.withEngine(s.getCallUsername),
		"createMeetLink":  s.withEngine(s.createMeetLink),
		"blockUser":       s.withEngine(s.blockUser),
		"unblockUser": s.withEngine(withString("unblockUser takes a user JID.", "User unblocked.",
			(*call.Engine).UnblockUser)),
		"getBlockedUsers": s.withEngine(s.getBlockedUsers),
		// sessions_js.go
		"getSessions": s.withEngine(s.getSessions),
		"endSession": s.withEngine(withString("endSession takes the sessionId of one of your sessions (from getSessions).",
			"Session signed out.", (*call.Engine).EndSession)),
		"logoutOtherSessions": s.withEngine(s.logoutOtherSessions),
		"admitUser": s.withEngine(withString("admitUser takes the userJid of who asked to join.", "Let in.",
			(*call.Engine).AdmitUser)),
		"denyUser": s.withEngine(withString("denyUser takes the userJid of who asked to join.", "Not let in.",
			(*call.Engine).DenyUser)),
		"shareScreen": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.ShareScreen(ctx), "Sharing your screen.")
		}),
		"stopScreenShare": s.withEngine(func(ctx context.Context, e *call.Engine, _ []js.Value) any {
			return result(e.StopScreenShare(ctx), "Stopped sharing your screen.")
		}),
		// push_js.go
		"getPushPublicKey":           s.withEngine(s.getPushPublicKey),
		"registerPushSubscription":   s.withEngine(s.registerPushSubscription),
		"unregisterPushSubscription": s.withEngine(s.unregisterPushSubscription),
	}
}

func notInitialized() envelope {
	return envelope{StatusCode: wire.CodeBadRequest, Message: "Call Parley.initializeSDK first."}
}

// withString adapts an engine method that takes one string (a JID, an ID)
// and returns only an error: anything else as the argument is a 400 that
// says usage; success resolves with done.
func withString(usage, done string, f func(*call.Engine, context.Context, string) error) func(context.Context, *call.Engine, []js.Value) any {
	return func(ctx context.Context, e *call.Engine, args []js.Value) any {
		v, ok := stringArg(args, 0)
		if !ok {
			return badRequest("%s", usage)
		}
		return result(f(e, ctx, v), done)
	}
}

func (s *sdk) withEngine(f func(ctx context.Context, e *call.Engine, args []js.Value) any) method {
	return func(args []js.Value) any {
		if s.engine == nil {
			return notInitialized()
		}
		return f(context.Background(), s.engine, args)
	}
}

func (s *sdk) initializeSDK(args []js.Value) any {
	opts := arg(args, 0)
	if opts.Type() != js.TypeObject && opts.Type() != js.TypeUndefined {
		return badRequest("initializeSDK takes an options object: {serverUrl?, iceTransportPolicy?, callbackListeners}.")
	}
	server := browser.Origin()
	policy := ""
	listeners := js.Global().Get("Object").New()
	if opts.Type() == js.TypeObject {
		opts = plainObject(opts)
		if u := opts.Get("serverUrl"); u.Type() == js.TypeString && u.String() != "" {
			server = u.String()
		} else if !u.IsUndefined() && !u.IsNull() && u.Type() != js.TypeString {
			return badRequest("serverUrl must be a string.")
		}
		switch p := opts.Get("iceTransportPolicy"); {
		case p.Type() == js.TypeString && (p.String() == call.ICEPolicyAll || p.String() == call.ICEPolicyRelay):
			policy = p.String()
		case !p.IsUndefined() && !p.IsNull():
			return badRequest(`iceTransportPolicy must be "all" or "relay".`)
		}
		if l := opts.Get("callbackListeners"); l.Type() == js.TypeObject {
			listeners = l
		} else if !l.IsUndefined() && !l.IsNull() {
			return badRequest("callbackListeners must be an object of functions.")
		}
	}
	s.listeners = listeners
	if s.engine == nil {
		s.engine = call.New(call.Config{ServerURL: server})
		browser.OnPageHide(s.saveTab) // for the page's lifetime: never released
	}
	s.engine.SetEventSink(s.deliver)
	if err := s.engine.SetICEPolicy(policy); err != nil {
		return fail(err)
	}
	return ok("SDK initialized.", nil)
}

// call invokes the page's listener name with args, if it registered one; a
// listener that throws is reported on the console and otherwise ignored.
func (s *sdk) call(name string, args ...any) {
	// Reading the listener can throw too (a getter, a Proxy): recover first.
	defer func() {
		if r := recover(); r != nil {
			js.Global().Get("console").Call("error", "Parley: "+name+" threw:", fmt.Sprint(r))
		}
	}()
	fn := s.listeners.Get(name)
	if fn.Type() != js.TypeFunction {
		return
	}
	fn.Invoke(args...)
}

// deliver hands one engine event to the page's listener of the same name: the
// payload as a plain object, except a track (the MediaStreamTrack itself) and
// custom data (the value and its sender, as two arguments).
func (s *sdk) deliver(ev event.Event) {
	s.watchTab(ev)
	switch v := ev.(type) {
	case event.UserTrack:
		o := toJS(v).(js.Value)
		o.Set("track", js.Null())
		if t, ok := v.Track.(interface{ JSValue() js.Value }); ok && v.Track != nil {
			o.Set("track", t.JSValue())
		}
		s.call(ev.Listener(), o)
	case event.CustomData:
		s.call(ev.Listener(), js.Global().Get("JSON").Call("parse", string(v.Data)), toJS(v.From))
	default:
		s.call(ev.Listener(), toJS(ev))
	}
}
