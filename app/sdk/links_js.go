//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"syscall/js"

	"parley/app/call"
	"parley/app/wire"
)

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

func (s *sdk) getCallLink(ctx context.Context, e *call.Engine, _ []js.Value) any {
	link, err := e.CallLink(ctx)
	if err != nil {
		return fail(err)
	}
	return ok("Call link.", link)
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

// createMeetLink takes "video" or "audio", an options object
// {callType?, open?}, or both ("video", {open: true}). An open link lets
// people in without knocking.
func (s *sdk) createMeetLink(ctx context.Context, e *call.Engine, args []js.Value) any {
	video, open := true, false
	opts := js.Undefined()
	switch v := arg(args, 0); v.Type() {
	case js.TypeString:
		video = v.String() != wire.TypeAudio
		opts = arg(args, 1)
	case js.TypeObject:
		opts = v
	}
	if opts.Type() == js.TypeObject {
		opts = plainObject(opts)
		if t := opts.Get("callType"); t.Type() == js.TypeString {
			video = t.String() != wire.TypeAudio
		}
		switch o := opts.Get("open"); o.Type() {
		case js.TypeBoolean:
			open = o.Bool()
		case js.TypeUndefined, js.TypeNull:
		default:
			return badRequest("createMeetLink's open option must be true or false.")
		}
	} else if !opts.IsUndefined() && !opts.IsNull() {
		return badRequest(`createMeetLink takes "video" or "audio" and an options object {open}.`)
	}
	ref, link, err := e.CreateMeetLink(ctx, video, open)
	if err != nil {
		return fail(err)
	}
	return ok("Call link created.", map[string]string{"roomId": ref.RoomID, "roomLink": ref.RoomLink, "link": link})
}
