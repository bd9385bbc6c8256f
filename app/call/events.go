package call

import "parley/app/wire"

// Error is the error every Engine method returns for an API failure: Code is the
// SDK statusCode (400, 401, 403, 404, 409, 500 or a 1006xx call code) and Message
// a sentence for people.
type Error = wire.Error

// CallRef is what makeVoiceCall and makeVideoCall return.
type CallRef struct {
	RoomID   string `json:"roomId"`
	RoomLink string `json:"roomLink"`
}

// notInCall is the 100609 error of every method that needs a call.
func notInCall() *Error {
	return wire.NotInCall("You are not in a call.")
}
