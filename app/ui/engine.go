package ui

import (
	"context"
	"encoding/json"

	"parley/app/call/event"
	"parley/app/wire"
)

// Engine is the call engine as the screens use it. In the browser it is
// *call.Engine adapted by NewCallEngine (engine_js.go); when the server
// prerenders pages natively there is no engine (nil), and tests use a fake.
// Keeping this an interface lets the server import the UI without linking the
// call engine and pion.
type Engine interface {
	Register(ctx context.Context, username, password, displayName string) (wire.User, error)
	Connect(ctx context.Context, username, password string) (wire.User, error)
	// ConnectToken signs in with a token saved by an earlier sign-in.
	ConnectToken(ctx context.Context, token string) (wire.User, error)
	// Token is the session token after a successful sign-in.
	Token() string
	// SavedTab is this tab's session and call as they stand, to keep for
	// ResumeTab after a reload; false when signed out.
	SavedTab() (TabSession, bool)
	// ResumeTab signs in with a session kept by SavedTab: when the server
	// still has it in a call, the engine comes back into that call
	// (event.CallResumed) and inCall is true, else it signs in as
	// ConnectToken does.
	ResumeTab(ctx context.Context, saved TabSession) (u wire.User, inCall bool, err error)
	Logout(ctx context.Context) error
	// MakeCall calls userJIDs (JIDs or bare usernames), with video or voice
	// only; groupID ("" for none) names a group call.
	MakeCall(ctx context.Context, video bool, userJIDs []string, groupID string) error
	// InviteUsers rings more users into the current call.
	InviteUsers(ctx context.Context, userJIDs []string) error
	// RequestVideoCallSwitch and the three after it drive the switch of a 1:1
	// voice call to video; the answers arrive as event.CallSwitch.
	RequestVideoCallSwitch(ctx context.Context) error
	CancelVideoCallSwitchRequest(ctx context.Context) error
	AcceptVideoCallSwitchRequest(ctx context.Context) error
	DeclineVideoCallSwitchRequest(ctx context.Context) error
	// SetDevices chooses the microphone and camera (deviceIds, "" for the
	// default) for later calls and, during a call, switches to them at once.
	SetDevices(ctx context.Context, audioID, videoID string) error
	// SendCustomData sends a JSON value to every other participant (event.CustomData).
	SendCustomData(ctx context.Context, data json.RawMessage) error
	AnswerCall(ctx context.Context) error
	DeclineCall(ctx context.Context) error
	EndCall(ctx context.Context) error
	MuteAudio(ctx context.Context, mute bool) error
	MuteVideo(ctx context.Context, mute bool) error
	GetCallLogs(ctx context.Context, page int) (wire.CallLogPage, error)
	// BlockUser, UnblockUser and GetBlockedUsers manage the block list: a
	// blocked user's calls find you busy and do not ring you.
	BlockUser(ctx context.Context, userJID string) (wire.BlockedUser, error)
	UnblockUser(ctx context.Context, userJID string) error
	GetBlockedUsers(ctx context.Context) ([]wire.BlockedUser, error)
	// GetSessions lists where the account is signed in; EndSession signs
	// one other session out, LogoutOtherSessions all of them (how many).
	GetSessions(ctx context.Context) ([]wire.SessionInfo, error)
	EndSession(ctx context.Context, sessionID string) error
	LogoutOtherSessions(ctx context.Context) (int, error)
	// CurrentCall is a snapshot of the call this tab is in or ringing out.
	CurrentCall() (wire.Call, bool)
	// Incoming is the call ringing on this tab, if any.
	Incoming() (wire.Call, bool)
	// User is the signed-in user, or the guest that SubscribeCall created.
	User() (wire.User, bool)
	// SubscribeCall previews the call behind link (a URL or a bare code). A
	// visitor who is not signed in becomes a guest named displayName.
	// event.CallUsersUpdate follows, now and at every change.
	SubscribeCall(ctx context.Context, link, displayName string) error
	// JoinCall joins the previewed call.
	JoinCall(ctx context.Context) error
	// UnsubscribeCall leaves the preview and releases camera and microphone.
	UnsubscribeCall(ctx context.Context) error
	// CreateMeetLink creates a call people join by link and returns the
	// link. With open, they join without knocking; otherwise a member of
	// the call lets each one in.
	CreateMeetLink(ctx context.Context, video, open bool) (string, error)
	// CallLink is the join link of the current call; in a one-to-one call
	// asking for it shares it (until then the link works for nobody).
	CallLink(ctx context.Context) (string, error)
	// AdmitUser lets in someone who asked to join the call by its link
	// (event.CallJoinRequest); DenyUser refuses them.
	AdmitUser(ctx context.Context, userJID string) error
	DenyUser(ctx context.Context, userJID string) error
	// ShareScreen shares this user's screen in the current call (the
	// browser asks what to share); StopScreenShare stops. Who shares is the
	// snapshot's ScreenSharer, and changes come as event.ScreenShare.
	ShareScreen(ctx context.Context) error
	StopScreenShare(ctx context.Context) error
	// Limits are the server's limits (participants per call, name lengths,
	// custom data size) from the last sign-in result.
	Limits() wire.Limits
	// PushPublicKey, RegisterPush, UnregisterPush and PushSession ring this
	// device by Web Push while the app is closed (push_state.go).
	PushPublicKey(ctx context.Context) (string, error)
	RegisterPush(ctx context.Context, sub wire.PushSubscriptionJSON) error
	UnregisterPush(ctx context.Context) (bool, error)
	PushSession() map[string]string
	// ReportVisibility tells the server whether this page is hidden.
	ReportVisibility(ctx context.Context, hidden bool) error
	// SetEventSink sets the function that receives every engine event. It is
	// called on an engine goroutine, never on the UI goroutine.
	SetEventSink(func(event.Event))
}
