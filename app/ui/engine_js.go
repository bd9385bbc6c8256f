//go:build js && wasm

package ui

import (
	"context"

	"parley/app/call"
	"parley/app/wire"
)

// NewCallEngine adapts the page's call engine to the Engine the screens use.
func NewCallEngine(e *call.Engine) Engine { return callEngine{e} }

type callEngine struct{ *call.Engine }

func (c callEngine) MakeCall(ctx context.Context, video bool, userJIDs []string, groupID string) error {
	var err error
	if video {
		_, err = c.MakeVideoCall(ctx, userJIDs, groupID)
	} else {
		_, err = c.MakeVoiceCall(ctx, userJIDs, groupID)
	}
	return err
}

func (c callEngine) SavedTab() (TabSession, bool) {
	s, ok := c.SavedSession()
	return TabSession{Token: s.Token, Session: s.Session, LastSeq: s.LastSeq, RoomID: s.RoomID,
		AudioMuted: s.AudioMuted, VideoMuted: s.VideoMuted}, ok
}

func (c callEngine) ResumeTab(ctx context.Context, t TabSession) (wire.User, bool, error) {
	u, resumed, err := c.ConnectResume(ctx, call.SavedSession{Token: t.Token, Session: t.Session, LastSeq: t.LastSeq,
		RoomID: t.RoomID, AudioMuted: t.AudioMuted, VideoMuted: t.VideoMuted})
	return u, resumed != nil, err
}

func (c callEngine) CreateMeetLink(ctx context.Context, video, open bool) (string, error) {
	_, link, err := c.Engine.CreateMeetLink(ctx, video, open)
	return link, err
}
