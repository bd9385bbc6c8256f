//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"syscall/js"

	"parley/app/browser"
	"parley/app/call"
	"parley/app/wire"
)

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
	// A page reloaded during a call goes back into it (resume_js.go).
	if u, resumed, handled, err := s.resume(context.Background(), user); handled {
		if err != nil {
			return fail(err)
		}
		data := map[string]string{"userJid": u.JID}
		if resumed != nil {
			data["resumedRoomId"] = resumed.RoomID
			return ok("Connected, back in the call.", data)
		}
		return ok("Connected.", data)
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
		return envelope{StatusCode: wire.CodeForbidden, Message: "Notifications are not allowed for this site; allow them in the browser's site settings."}
	case errors.Is(err, browser.ErrUnsupported):
		return envelope{StatusCode: wire.CodeForbidden, Message: "This browser cannot show notifications."}
	default:
		return envelope{StatusCode: wire.CodeInternal, Message: err.Error()}
	}
}
