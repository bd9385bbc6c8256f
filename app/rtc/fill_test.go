//go:build !(js && wasm)

package rtc

import "testing"

func ended(t *LocalTrack) bool {
	select {
	case <-t.stop:
		return true
	default:
		return false
	}
}

// TestFillKeepsMuteAndStop: media a call started with before its devices
// opened takes them in with what happened meanwhile: a kind muted stays
// muted, and after Stop (the call ended) the devices are released at once.
func TestFillKeepsMuteAndStop(t *testing.T) {
	open := func() *LocalMedia {
		m, err := SyntheticMedia{}.Open(true)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	m := &LocalMedia{}
	m.SetEnabled(KindAudio, false)
	o := open()
	if !m.Fill(o) {
		t.Fatal("Fill reported the media stopped")
	}
	audio, video := m.Audio().(*LocalTrack), m.Video().(*LocalTrack)
	if audio.Enabled() || !video.Enabled() {
		t.Fatalf("after Fill: microphone enabled %v (muted before), camera enabled %v", audio.Enabled(), video.Enabled())
	}
	if o.Audio() != nil || o.Video() != nil {
		t.Fatal("the opened media still holds its tracks")
	}
	m.Stop()
	if !ended(audio) || !ended(video) {
		t.Fatal("Stop left a filled track running")
	}

	stopped := &LocalMedia{}
	stopped.Stop()
	o = open()
	a, v := o.Audio().(*LocalTrack), o.Video().(*LocalTrack)
	if stopped.Fill(o) {
		t.Fatal("Fill into stopped media reported success")
	}
	if !ended(a) || !ended(v) {
		t.Fatal("devices opened for a call that ended are still running")
	}
	if stopped.Audio() != nil || stopped.Video() != nil {
		t.Fatal("stopped media took the tracks")
	}
}
