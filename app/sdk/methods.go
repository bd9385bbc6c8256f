package main

// methodNames are the methods of window.Parley, in the order the README lists
// them. It is the one list that compiles on every platform, so a native test
// (methods_test.go) can hold the loader (web/parley.js), the wasm's method
// table (sdk.methods in main_js.go) and the README to it.
var methodNames = []string{
	// session
	"initializeSDK", "register", "connect", "logout",
	// where you are signed in
	"getSessions", "endSession", "logoutOtherSessions",
	// calls
	"makeVoiceCall", "makeVideoCall", "answerCall", "declineCall", "endCall",
	"inviteUsers", "getCallLogs",
	// blocking
	"blockUser", "unblockUser", "getBlockedUsers",
	// media
	"muteAudio", "muteVideo", "isUserAudioMuted", "isUserVideoMuted",
	"requestVideoCallSwitch", "cancelVideoCallSwitchRequest",
	"acceptVideoCallSwitchRequest", "declineVideoCallSwitchRequest",
	// data and links
	"sendCustomData", "getCallLink", "subscribeCall", "joinCall", "unsubscribeCall",
	"getCallUsername", "showCallNotification", "createMeetLink",
	// admission
	"admitUser", "denyUser",
	// screen sharing
	"shareScreen", "stopScreenShare",
	// ringing a closed app (Web Push)
	"getPushPublicKey", "registerPushSubscription", "unregisterPushSubscription",
}
