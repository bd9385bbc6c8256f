//go:build js && wasm

// Command sdk is the Parley JavaScript SDK: built to web/sdk.wasm and loaded by
// /parley.js, it gives window.Parley the call API of the SDK contract on top of
// the same call engine the PWA uses.
package main

import (
	"context"
	"encoding/json"
	"errors"
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

// envelope is what every method resolves to. TotalPages is set by
// getCallLogs alone: the page count goes beside data, which stays the Array of
// call logs the seed describes.
type envelope struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Data       any    `json:"data,omitempty"`
	TotalPages *int   `json:"totalPages,omitempty"`
}

func ok(msg string, data any) envelope { return envelope{StatusCode: 200, Message: msg, Data: data} }

func fail(err error) envelope {
	var ce *call.Error
	if errors.As(err, &ce) {
		return envelope{StatusCode: ce.Code, Message: ce.Message}
	}
	return envelope{StatusCode: 500, Message: "Something went wrong: " + err.Error()}
}

func badRequest(format string, args ...any) envelope {
	return envelope{StatusCode: 400, Message: fmt.Sprintf(format, args...)}
}

// method is one SDK method: it runs on its own goroutine and returns what the
// promise resolves to (an envelope, or a raw value such as a string).
type method func(args []js.Value) any

// promiseFunc wraps m as a JavaScript function returning a Promise that never
// rejects for an API error.
func promiseFunc(m method) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) any {
		args = append([]js.Value(nil), args...)
		var executor js.Func
		executor = js.FuncOf(func(this js.Value, pargs []js.Value) any {
			resolve := pargs[0]
			executor.Release()
			go func() {
				var out any
				func() {
					defer func() {
						if r := recover(); r != nil {
							if a, ok := r.(argThrew); ok {
								out = badRequest("Reading an argument threw: %s", jsMessage(a.err))
								return
							}
							out = envelope{StatusCode: 500, Message: fmt.Sprintf("Internal error: %v", r)}
						}
					}()
					for i, a := range args {
						if isBigInt(a) {
							out = badRequest("Argument %d is a BigInt, which Parley cannot take (JSON has no BigInt); pass a number or a string.", i+1)
							return
						}
					}
					out = m(args)
				}()
				resolve.Invoke(toJS(out))
			}()
			return nil
		})
		return js.Global().Get("Promise").New(executor)
	})
}

// isBigInt reports whether v is a BigInt primitive: syscall/js knows no such
// type, and Value.Type panics on one ("bad type flag"), so every argument is
// checked before a method looks at it.
func isBigInt(v js.Value) (yes bool) {
	defer func() {
		if recover() != nil {
			yes = false
		}
	}()
	tag := js.Global().Get("Object").Get("prototype").Get("toString").Call("call", v)
	return tag.String() == "[object BigInt]"
}

// argThrew is the panic of plainObject and plainArray when reading the
// caller's argument throws (a getter, a Proxy): promiseFunc answers it 400.
type argThrew struct{ err js.Error }

// plainObject copies the own enumerable properties of the page's object v
// into a fresh object, so that reading them later cannot throw. It must be
// used on every object argument before Get: wasm_exec.js's Get, Index and
// Length let a JavaScript exception unwind through the Go stack and crash the
// engine, while Call turns it into a recoverable panic.
func plainObject(v js.Value) js.Value {
	return callArg(js.Global().Get("Object"), "assign", js.Global().Get("Object").New(), v)
}

// plainArray copies the page's array v into a fresh array (see plainObject).
func plainArray(v js.Value) js.Value {
	return callArg(js.Global().Get("Array"), "from", v)
}

func callArg(obj js.Value, method string, args ...any) (out js.Value) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(js.Error); ok {
				panic(argThrew{e})
			}
			panic(r)
		}
	}()
	return obj.Call(method, args...)
}

// toJS converts a Go value to JavaScript through JSON, except values that are
// already JavaScript.
func toJS(v any) any {
	switch x := v.(type) {
	case js.Value:
		return x
	case string, bool, int, float64, nil:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return js.Null()
	}
	return js.Global().Get("JSON").Call("parse", string(b))
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
	}
}

func result(err error, msg string) envelope {
	if err != nil {
		return fail(err)
	}
	return ok(msg, nil)
}

func notInitialized() envelope {
	return envelope{StatusCode: 400, Message: "Call Parley.initializeSDK first."}
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
		return badRequest("initializeSDK takes an options object: {serverUrl?, callbackListeners}.")
	}
	server := browser.Origin()
	listeners := js.Global().Get("Object").New()
	if opts.Type() == js.TypeObject {
		opts = plainObject(opts)
		if u := opts.Get("serverUrl"); u.Type() == js.TypeString && u.String() != "" {
			server = u.String()
		} else if !u.IsUndefined() && !u.IsNull() && u.Type() != js.TypeString {
			return badRequest("serverUrl must be a string.")
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
	}
	s.engine.SetEventSink(s.deliver)
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

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func stringArg(args []js.Value, i int) (string, bool) {
	v := arg(args, i)
	if v.Type() != js.TypeString {
		return "", false
	}
	return v.String(), true
}

func userData(u wire.User) map[string]string {
	return map[string]string{"userJid": u.JID, "username": u.Username, "displayName": u.DisplayName}
}

func (s *sdk) register(args []js.Value) any {
	if s.engine == nil {
		return notInitialized()
	}
	user, ok1 := stringArg(args, 0)
	pass, ok2 := stringArg(args, 1)
	if !ok1 || !ok2 {
		return badRequest("register takes a username and a password (strings).")
	}
	display := ""
	if d := arg(args, 2); d.Type() == js.TypeString {
		display = d.String()
	} else if !d.IsUndefined() && !d.IsNull() {
		return badRequest("The display name must be a string.")
	}
	u, err := s.engine.Register(context.Background(), user, pass, display)
	if err != nil {
		return fail(err)
	}
	return ok("Registered and signed in.", userData(u))
}

func (s *sdk) connect(args []js.Value) any {
	if s.engine == nil {
		return notInitialized()
	}
	user, ok1 := stringArg(args, 0)
	pass, ok2 := stringArg(args, 1)
	if !ok1 || !ok2 {
		return badRequest("connect takes a username and a password (strings).")
	}
	u, err := s.engine.Connect(context.Background(), user, pass)
	if err != nil {
		return fail(err)
	}
	return ok("Connected.", map[string]string{"userJid": u.JID})
}

func (s *sdk) makeCall(video bool) method {
	name := "makeVoiceCall"
	if video {
		name = "makeVideoCall"
	}
	return s.withEngine(func(ctx context.Context, e *call.Engine, args []js.Value) any {
		jids, bad := stringList(arg(args, 0), name)
		if bad != nil {
			return *bad
		}
		group := ""
		if g := arg(args, 1); g.Type() == js.TypeString {
			group = g.String()
		} else if !g.IsUndefined() && !g.IsNull() {
			return badRequest("%s: the group ID must be a string.", name)
		}
		var ref call.CallRef
		var err error
		if video {
			ref, err = e.MakeVideoCall(ctx, jids, group)
		} else {
			ref, err = e.MakeVoiceCall(ctx, jids, group)
		}
		if err != nil {
			return fail(err)
		}
		return ok("Calling.", ref)
	})
}

func (s *sdk) mute(video bool) method {
	return s.withEngine(func(ctx context.Context, e *call.Engine, args []js.Value) any {
		v := arg(args, 0)
		if v.Type() != js.TypeBoolean {
			return badRequest("Pass true to mute or false to unmute.")
		}
		var err error
		if video {
			err = e.MuteVideo(ctx, v.Bool())
		} else {
			err = e.MuteAudio(ctx, v.Bool())
		}
		state := "unmuted"
		if v.Bool() {
			state = "muted"
		}
		return result(err, "Your "+map[bool]string{false: "microphone", true: "camera"}[video]+" is "+state+".")
	})
}

func (s *sdk) isMuted(video bool) method {
	return s.withEngine(func(ctx context.Context, e *call.Engine, args []js.Value) any {
		jid := ""
		if v := arg(args, 0); v.Type() == js.TypeString {
			jid = v.String()
		} else if !v.IsUndefined() && !v.IsNull() {
			return badRequest("The user JID must be a string.")
		}
		var m bool
		var err error
		if video {
			m, err = e.IsUserVideoMuted(jid)
		} else {
			m, err = e.IsUserAudioMuted(jid)
		}
		if err != nil {
			return fail(err)
		}
		return ok("Mute status.", m)
	})
}

func (s *sdk) getCallLogs(args []js.Value) any {
	if s.engine == nil {
		return notInitialized()
	}
	v := arg(args, 0)
	page := 1
	switch {
	case v.IsUndefined() || v.IsNull():
	case v.Type() == js.TypeNumber && v.Float() == float64(v.Int()):
		page = v.Int()
	default:
		return badRequest("getCallLogs takes a page number (1, 2, ...).")
	}
	res, err := s.engine.GetCallLogs(context.Background(), page)
	if err != nil {
		return fail(err)
	}
	return callLogsEnvelope(res)
}

// callLogsEnvelope is getCallLogs' answer: data is the page's Array of call
// logs (never null), totalPages sits beside it.
func callLogsEnvelope(res wire.CallLogPage) envelope {
	logs := res.CallLogs
	if logs == nil {
		logs = []wire.CallLog{}
	}
	env := ok("Call logs.", logs)
	total := res.TotalPages
	env.TotalPages = &total
	return env
}

func (s *sdk) getCallLink(ctx context.Context, e *call.Engine, _ []js.Value) any {
	link, err := e.CallLink()
	if err != nil {
		return fail(err)
	}
	return ok("Call link.", link)
}

func (s *sdk) showCallNotification(args []js.Value) any {
	v := arg(args, 0)
	if v.Type() == js.TypeObject {
		v = plainObject(v)
	}
	if v.Type() != js.TypeObject || v.Get("title").Type() != js.TypeString || v.Get("title").String() == "" {
		return badRequest("showCallNotification takes {title, body?, icon?, tag?, forceShow?} with a title.")
	}
	str := func(k string) string {
		if x := v.Get(k); x.Type() == js.TypeString {
			return x.String()
		}
		return ""
	}
	n := browser.Notification{Title: str("title"), Body: str("body"), Icon: str("icon"), Tag: str("tag"), ForceShow: v.Get("forceShow").Truthy()}
	err := browser.ShowNotification(n)
	switch {
	case err == nil && !n.ForceShow && !browser.DocumentHidden():
		return ok("The page is in view, so no notification was shown (pass forceShow: true to show it anyway).", nil)
	case err == nil:
		return ok("Notification shown.", nil)
	case errors.Is(err, browser.ErrNotificationDenied), errors.Is(err, browser.ErrNotificationNotGranted):
		return envelope{StatusCode: 403, Message: "Notifications are not allowed for this site; allow them in the browser's site settings."}
	case errors.Is(err, browser.ErrUnsupported):
		return envelope{StatusCode: 403, Message: "This browser cannot show notifications."}
	default:
		return envelope{StatusCode: 500, Message: err.Error()}
	}
}

// stringList reads an array of strings (user JIDs) or explains what is wrong.
func stringList(v js.Value, what string) ([]string, *envelope) {
	if !js.Global().Get("Array").Call("isArray", v).Bool() {
		env := badRequest("%s takes an array of user JIDs.", what)
		return nil, &env
	}
	v = plainArray(v)
	out := make([]string, v.Length())
	for i := range out {
		x := v.Index(i)
		if x.Type() != js.TypeString {
			env := badRequest("%s: every user JID must be a string.", what)
			return nil, &env
		}
		out[i] = x.String()
	}
	return out, nil
}

func (s *sdk) inviteUsers(ctx context.Context, e *call.Engine, args []js.Value) any {
	jids, bad := stringList(arg(args, 0), "inviteUsers")
	if bad != nil {
		return *bad
	}
	return result(e.InviteUsers(ctx, jids), "Invited.")
}

func (s *sdk) sendCustomData(ctx context.Context, e *call.Engine, args []js.Value) any {
	v := arg(args, 0)
	if v.IsUndefined() || v.Type() == js.TypeFunction || v.Type() == js.TypeSymbol {
		return badRequest("sendCustomData takes a JSON value: an object, array, string, number or boolean.")
	}
	enc, err := stringify(v)
	if err != nil {
		return badRequest("That value cannot be sent as JSON (%s); send objects, arrays, strings, numbers, booleans or null.", jsMessage(*err))
	}
	if enc.Type() != js.TypeString {
		return badRequest("That value cannot be sent as JSON.")
	}
	return result(e.SendCustomData(ctx, json.RawMessage(enc.String())), "Data sent.")
}

// stringify is JSON.stringify(v), with the exception it throws (a BigInt, a
// cycle, a throwing toJSON) returned instead of panicking: those are the
// caller's bad argument, not an internal error.
func stringify(v js.Value) (out js.Value, jsErr *js.Error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			out, jsErr = js.Undefined(), &e
		}
	}()
	return js.Global().Get("JSON").Call("stringify", v), nil
}

// jsMessage is the message of a thrown JavaScript value. It reads it through
// Call (see plainObject), and never panics.
func jsMessage(e js.Error) (msg string) {
	defer func() {
		if recover() != nil {
			msg = "an exception"
		}
	}()
	if e.Value.Type() == js.TypeObject {
		if m := js.Global().Get("Reflect").Call("get", e.Value, "message"); m.Type() == js.TypeString {
			return m.String()
		}
	}
	return js.Global().Call("String", e.Value).String()
}

// callback invokes a (success, error) callback with env, if one was given.
func (s *sdk) callback(fn js.Value, env envelope) {
	if fn.Type() != js.TypeFunction {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			js.Global().Get("console").Call("error", "Parley: callback threw:", fmt.Sprint(r))
		}
	}()
	if env.StatusCode == 200 {
		fn.Invoke(toJS(env), js.Null())
	} else {
		fn.Invoke(js.Null(), toJS(env))
	}
}

func (s *sdk) subscribeCall(ctx context.Context, e *call.Engine, args []js.Value) any {
	link, ok1 := stringArg(args, 0)
	name := ""
	if v := arg(args, 1); v.Type() == js.TypeString {
		name = v.String()
	} else if !v.IsUndefined() && !v.IsNull() {
		env := badRequest("The display name must be a string.")
		s.callback(arg(args, 2), env)
		return env
	}
	if !ok1 {
		env := envelope{StatusCode: wire.CodeInvalidLink, Message: "subscribeCall takes the call link (its URL or code)."}
		s.callback(arg(args, 2), env)
		return env
	}
	env := result(e.SubscribeCall(ctx, link, name), "Subscribed to the call.")
	s.callback(arg(args, 2), env)
	return env
}

func (s *sdk) joinCall(ctx context.Context, e *call.Engine, args []js.Value) any {
	env := result(e.JoinCall(ctx), "Joined the call.")
	s.callback(arg(args, 0), env)
	return env
}

// getCallUsername resolves to the name itself, as the seed says, or to an
// error envelope.
func (s *sdk) getCallUsername(ctx context.Context, e *call.Engine, args []js.Value) any {
	jid, ok := stringArg(args, 0)
	if !ok {
		return badRequest("getCallUsername takes a user JID.")
	}
	name, err := e.GetCallUsername(jid)
	if err != nil {
		return fail(err)
	}
	return name
}

func (s *sdk) createMeetLink(ctx context.Context, e *call.Engine, args []js.Value) any {
	video := true
	if v := arg(args, 0); v.Type() == js.TypeString {
		video = v.String() != wire.TypeAudio
	}
	ref, link, err := e.CreateMeetLink(ctx, video)
	if err != nil {
		return fail(err)
	}
	return ok("Call link created.", map[string]string{"roomId": ref.RoomID, "roomLink": ref.RoomLink, "link": link})
}
