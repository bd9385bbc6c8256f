//go:build !(js && wasm)

package call_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"parley/app/call/event"
	"parley/app/wire"
	"parley/server/hub"
)

func TestCustomData(t *testing.T) {
	srv := startServer(t, hub.Config{})
	alice, bob, carol, dave := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol"), register(t, srv, "dave")
	isErrCode(t, alice.SendCustomData(ctx(t), json.RawMessage(`"hi"`)), wire.CodeNotInCall)
	if _, err := alice.MakeVoiceCall(ctx(t), []string{"bob", "carol"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{bob, carol} {
		c.waitIncoming(t)
		if err := c.AnswerCall(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	alice.waitStatus(t, carol.jid, wire.StatusConnecting)
	var got [2][]int
	var mu sync.Mutex
	for i, c := range []*client{bob, carol} {
		c.SetEventSink(func(ev event.Event) {
			d, ok := ev.(event.CustomData)
			var m struct{ N int }
			if ok && json.Unmarshal(d.Data, &m) == nil && d.From.UserJID == alice.jid {
				mu.Lock()
				got[i] = append(got[i], m.N)
				mu.Unlock()
			}
		})
	}
	outsider := 0
	dave.SetEventSink(func(ev event.Event) {
		if _, ok := ev.(event.CustomData); ok {
			outsider++
		}
	})
	const n = 50
	for i := 0; i < n; i++ {
		if err := alice.SendCustomData(ctx(t), json.RawMessage(fmt.Sprintf(`{"n":%d,"text":"message"}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, wire.MaxCustomDataBytes+1)
	for i := range big {
		big[i] = '1'
	}
	isErrCode(t, alice.SendCustomData(ctx(t), big), wire.CodeBadRequest)
	isErrCode(t, alice.SendCustomData(ctx(t), json.RawMessage(`{not json`)), wire.CodeBadRequest)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := len(got[0]) == n && len(got[1]) == n
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("custom data received: bob %d, carol %d of %d", len(got[0]), len(got[1]), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, g := range got {
		for i, v := range g {
			if v != i {
				t.Fatalf("custom data out of order: %v", g)
			}
		}
	}
	dave.Flush()
	if outsider != 0 {
		t.Fatalf("an outsider received %d messages", outsider)
	}
}
