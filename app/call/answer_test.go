//go:build !(js && wasm)

package call_test

import (
	"testing"
	"time"

	"parley/app/call"
	"parley/app/call/event"
	"parley/app/rtc"
	"parley/app/wire"
	"parley/server/hub"
)

// allowedMedia says its devices are allowed already, as a browser does once
// the site has camera and microphone permission, and opens them only when
// the test says so (or fails with err, as a camera another program holds).
type allowedMedia struct {
	rtc.Media
	opening chan struct{} // closed when Open starts
	release chan struct{} // Open waits for it
	err     error
}

func newAllowedMedia(err error) allowedMedia {
	return allowedMedia{Media: rtc.DefaultMedia(), opening: make(chan struct{}), release: make(chan struct{}), err: err}
}

func (allowedMedia) Granted(bool) bool { return true }

func (m allowedMedia) Open(video bool) (*rtc.LocalMedia, error) {
	close(m.opening)
	<-m.release
	if m.err != nil {
		return nil, m.err
	}
	return m.Media.Open(video)
}

// waitGranted waits until c rings and has found the devices to answer with
// allowed (it asks while the call rings).
func (c *client) waitGranted(t *testing.T) {
	t.Helper()
	in := c.waitIncoming(t)
	deadline := time.Now().Add(5 * time.Second)
	for !call.RingGranted(c.Engine, in.RoomID) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never found the devices allowed", c.name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// answerWith has alice video-call bob, whose tab opens its devices with
// media, and bob answer once his tab has found them allowed; answerCall's
// result comes on answered.
func answerWith(t *testing.T, media allowedMedia) (alice, bob *client, answered <-chan error) {
	t.Helper()
	srv := startServer(t, hub.Config{})
	alice = register(t, srv, "alice")
	register(t, srv, "bob").Close()
	bob = login(t, srv, "bob", media)
	if _, err := alice.MakeVideoCall(ctx(t), []string{bob.jid}, ""); err != nil {
		t.Fatal(err)
	}
	bob.waitGranted(t)
	res := make(chan error, 1)
	go func() { res <- bob.AnswerCall(ctx(t)) }()
	return alice, bob, res
}

// TestAnswerDoesNotWaitForAllowedDevices answers with devices that are
// allowed but slow to open (a camera warming up): the answer and the
// connection go ahead meanwhile, and the devices join it once open, a
// microphone muted meanwhile staying muted.
func TestAnswerDoesNotWaitForAllowedDevices(t *testing.T) {
	media := newAllowedMedia(nil)
	alice, bob, answered := answerWith(t, media)
	<-media.opening
	// The camera is still opening, and alice is connected to bob already.
	alice.waitStatus(t, bob.jid, wire.StatusConnected)
	select {
	case err := <-answered:
		t.Fatalf("answerCall returned before the devices opened: %v", err)
	default:
	}
	if err := bob.MuteAudio(ctx(t), true); err != nil {
		t.Fatalf("mute while the devices open: %v", err)
	}
	close(media.release)
	if err := <-answered; err != nil {
		t.Fatalf("answerCall: %v", err)
	}
	alice.waitPackets(t, bob.jid, rtc.KindVideo, 10)
	bob.waitPackets(t, alice.jid, rtc.KindVideo, 10)
	mic := wait(t, bob.rec, "bob's own microphone", func(v event.UserTrack) bool {
		return v.LocalUser && v.TrackType == "audio" && v.Track != nil
	})
	if lt, ok := mic.Track.(*rtc.LocalTrack); !ok || lt.Enabled() {
		t.Fatalf("bob's microphone, muted while it opened: %#v, want a disabled local track", mic.Track)
	}
}

// TestAnswerWhenAllowedDevicesFail answers with devices that are allowed
// yet fail to open (a camera another program holds). Failing at once, as a
// refusal does, nothing is sent and the phone still rings; failing after the
// answer went out, the call ends on both sides rather than going on without
// bob's devices. Either way answerCall fails with the device's code and
// mediaErrorListener says which.
func TestAnswerWhenAllowedDevicesFail(t *testing.T) {
	for _, late := range []bool{false, true} {
		name := map[bool]string{false: "at once", true: "after the answer"}[late]
		t.Run(name, func(t *testing.T) {
			media := newAllowedMedia(rtc.ErrCameraDenied)
			if !late {
				close(media.release)
			}
			alice, bob, answered := answerWith(t, media)
			if late {
				<-media.opening
				alice.waitStatus(t, bob.jid, wire.StatusConnected)
				close(media.release)
			}
			isErrCode(t, <-answered, wire.CodeCameraDenied)
			me := wait(t, bob.rec, "media error", func(event.MediaError) bool { return true })
			if me.StatusCode != wire.CodeCameraDenied || me.Device != "camera" || me.Action != "answerCall" {
				t.Fatalf("media error %+v", me)
			}
			if _, in := bob.CurrentCall(); in {
				t.Fatal("bob is in the call")
			}
			if !late {
				if _, ringing := bob.Incoming(); !ringing {
					t.Fatal("bob's phone stopped ringing")
				}
				// Still ringing for the server too: bob can decline it.
				if err := bob.DeclineCall(ctx(t)); err != nil {
					t.Fatalf("decline after the failed answer: %v", err)
				}
				alice.waitStatus(t, bob.jid, wire.StatusDeclined)
				return
			}
			wait(t, alice.rec, "alice's call ended", func(v event.CallStatus) bool { return v.Status == "ended" && closed(v) })
			if _, ringing := bob.Incoming(); ringing {
				t.Fatal("bob's phone still rings")
			}
			// Nothing is left over: alice can call bob again, and it rings.
			mark := bob.rec.mark()
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, err := alice.MakeVoiceCall(ctx(t), []string{bob.jid}, "")
				if err == nil {
					break
				}
				if time.Now().After(deadline) { // the first call's end may still be on its way
					t.Fatalf("call again: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			waitAt(t, bob.rec, mark, "bob rings again", func(event.IncomingCall) bool { return true })
		})
	}
}
