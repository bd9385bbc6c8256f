package browser

// Device is one camera, microphone or speaker, as enumerateDevices reports it.
type Device struct {
	ID    string // deviceId
	Kind  string // "audioinput", "videoinput" or "audiooutput"
	Label string // empty until the page has camera or microphone permission
}

// Device kinds.
const (
	KindMic     = "audioinput"
	KindCamera  = "videoinput"
	KindSpeaker = "audiooutput"
)

// localStorage keys of the devices chosen on the settings screen ("" or
// missing means the system default).
const (
	MicKey     = "parley.mic"
	CameraKey  = "parley.camera"
	SpeakerKey = "parley.speaker"
)

// Key is one keydown on the document.
type Key struct {
	Key string // KeyboardEvent.key: "m", "M", "Escape", "?"...
	// Typing is true when focus is in a text field, a select or an editable
	// element: shortcuts must leave the key alone.
	Typing bool
	// Modified is true when Ctrl, Alt or Meta is held.
	Modified bool
}

// MayBeShortcut reports whether the key can be a call screen shortcut:
// nothing with Ctrl, Alt or Meta, and only Escape while typing in a field.
func (k Key) MayBeShortcut() bool {
	return !k.Modified && (!k.Typing || k.Key == "Escape")
}
