package ui

import (
	"errors"
	"strings"

	"parley/app/wire"
)

// action names what the user was doing when an error happened, so that the
// sentence can say what to do next.
type action int

const (
	actSignIn action = iota
	actRegister
	actResume
	actCall
	actAnswer
	actDecline
	actEnd
	actMute
	actLogs
	actSignOut
	actJoin
	actLink
	actSwitch
	actInvite
	actData
	actAdmit
)

// howToAllow tells people where the browser keeps site permissions.
const howToAllow = "Click the camera or lock icon at the left of the address bar, allow it for this site, then try again."

// humanError turns an engine error into a sentence that says what happened and
// what to do next. It never shows a raw code.
func humanError(act action, err error, secure bool) string {
	if err == nil {
		return ""
	}
	var se *wire.Error
	if !errors.As(err, &se) {
		return "Something went wrong: " + sentence(err.Error()) + " Try again."
	}
	switch se.Code {
	case wire.CodeUnauthorized:
		switch act {
		case actSignIn:
			return "That username and password don't match. Check them and try again."
		case actResume:
			return "Your session has expired. Sign in again."
		}
		return "You are signed out. Sign in again."
	case wire.CodeConflict:
		switch act {
		case actRegister:
			return "That username is already taken. Choose another one, or sign in if it is yours."
		case actCall:
			return "You are already in a call. End it before starting another one."
		case actAnswer:
			return "This call can't be answered any more: it was answered, cancelled or you are in another call."
		}
		return "That isn't possible right now: " + sentence(se.Message)
	case wire.CodeNotFound:
		switch act {
		case actCall:
			return "There is no user with that name on this server. Check the username and try again."
		case actAnswer, actDecline, actEnd:
			return "That call has already ended."
		}
		return sentence(se.Message)
	case wire.CodeBadRequest:
		if act == actCall {
			return "Enter the username of the person to call (for example bob), not your own."
		}
		return sentence(se.Message) + " Correct it and try again."
	case wire.CodeMicDenied:
		return mediaSentence("microphone", secure)
	case wire.CodeCameraDenied:
		return mediaSentence("camera", secure)
	case wire.CodeMediaDenied:
		return mediaSentence("camera and microphone", secure)
	case wire.CodeCallFull:
		return "That call is full. Try again later or start a new call."
	case wire.CodeCallEnded:
		return "That call has already ended."
	case wire.CodeNotInCall:
		return "You are not in a call any more."
	case wire.CodeUnreachable:
		return "Parley can't reach its server. Check your network connection; Parley keeps trying."
	case wire.CodeRateLimited:
		return "Too many attempts in a short time. Wait a minute and try again."
	case wire.CodeForbidden:
		return "You are not allowed to do that. " + sentence(se.Message)
	case wire.CodeInternal:
		return "Something went wrong on the server. Try again in a moment."
	case wire.CodeNotAdmitted:
		return "Nobody in the call let you in. Ask them to watch for you and try again, or ask for a new link."
	case wire.CodeKnockTimeout:
		return "You were not let in: nobody answered in time. Try again, or ask someone in the call to watch for you."
	}
	return sentence(se.Message)
}

// mediaSentence explains a denied device and how to allow it.
func mediaSentence(device string, secure bool) string {
	if !secure {
		return "Your browser only lets Parley use the " + device +
			" on a secure connection. Open Parley with https:// (or on this computer as localhost) and try again."
	}
	return "Parley isn't allowed to use your " + device + ", or it is in use by another app. " + howToAllow
}

// mediaErrorSentence explains a mediaErrorListener report.
func mediaErrorSentence(code int, device string, secure bool) string {
	switch code {
	case wire.CodeMicDenied:
		return mediaSentence("microphone", secure)
	case wire.CodeCameraDenied:
		return mediaSentence("camera", secure)
	case wire.CodeMediaDenied:
		return mediaSentence("camera and microphone", secure)
	}
	if device == "" {
		device = "camera and microphone"
	}
	return mediaSentence(device, secure)
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Something went wrong."
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}

// checkRegistration validates the sign-up form before asking the server.
func checkRegistration(username, password string) string {
	if !wire.NewUsername(username) {
		if strings.ToLower(username) != username && wire.NewUsername(strings.ToLower(username)) {
			return "Usernames are lowercase. Use " + strings.ToLower(username) + " instead."
		}
		return "A username is 3 to 32 characters: lowercase letters and digits, with single dots, underscores or hyphens between them."
	}
	if strings.HasPrefix(username, "guest-") {
		return "Usernames starting with guest- are reserved for guests. Choose another one."
	}
	if len(password) < 8 {
		return "Choose a password of at least 8 characters."
	}
	return ""
}
