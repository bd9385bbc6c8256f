package wire

// Screen sharing: one participant of a call at a time shares their screen on
// a third, video transceiver every peer connection negotiates up front (so
// sharing needs no renegotiation). Call.ScreenSharer says who shares.
const (
	// TypeCallScreen starts (Sharing true) or stops (false) sharing the
	// sender's screen in a call: ScreenRequest -> nothing. Starting while
	// someone else shares replaces their share; the participants see the
	// change in the next EventUpdate's Call.ScreenSharer.
	TypeCallScreen = "call.screen"
)

// CodeScreenDenied is the status code of a screen capture the user refused
// or cancelled (the browser's picker); the engine's error, not the server's.
const CodeScreenDenied = 100615

// ScreenRequest is the payload of TypeCallScreen. Sharing is required.
type ScreenRequest struct {
	RoomID  string `json:"roomId"`
	Sharing *bool  `json:"sharing"`
}
