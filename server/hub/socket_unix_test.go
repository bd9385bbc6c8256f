//go:build unix

package hub

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestSendFrameShortWrites: the fan-out's own framing (sendFrame, and
// finishFrame for what a full socket did not take) puts every frame on the
// wire whole and in order, whether the socket took all of a frame, none of
// it or a part. The socket's buffers are made small and the reader slow, so
// that all three happen.
func TestSendFrameShortWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer server.Close()
	if err := client.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if err := server.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	raw, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}

	// The reader reads only when let (release says up to which frame), so
	// that each round fills the socket before it drains it.
	var got [][]byte
	release, caughtUp := make(chan int), make(chan error)
	go func() {
		r := bufio.NewReaderSize(client, 512)
		for upTo := range release {
			var err error
			for len(got) < upTo && err == nil {
				var p []byte
				if p, err = readServerFrame(r); err == nil {
					got = append(got, p)
				}
			}
			caughtUp <- err
		}
	}()
	defer close(release)

	var want [][]byte
	whole, none, part := 0, 0, 0
	deadline := time.Now().Add(10 * time.Second)
	for round := 0; round < 500 && (part < 2 || none < 2) && time.Now().Before(deadline); round++ {
		for {
			// Three pieces, as a ring's frame: the envelope, the shared
			// payload and a closing brace; sizes on both sides of the
			// 126-byte header boundary, some bigger than the buffers'
			// room, so that the socket takes part of them.
			i := len(want)
			f := frame{head: fmt.Appendf(nil, `{"seq":%d,"data":`, i),
				data: bytes.Repeat([]byte{'a' + byte(i%26)}, 30+(i*397)%6000), brace: true}
			total := f.wireSize()
			n, err := sendFrame(raw, f, 0)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			want = append(want, f.bytes())
			if n == total {
				whole++
				continue
			}
			if n == 0 {
				none++
			} else {
				part++
			}
			// The socket is full: the reader drains it while the rest goes.
			release <- len(want)
			if err := finishFrame(server, raw, f, n, time.Now().Add(5*time.Second)); err != nil {
				t.Fatalf("frame %d: finishing after %d of %d bytes: %v", i, n, total, err)
			}
			if err := <-caughtUp; err != nil {
				t.Fatalf("reading up to frame %d: %v", i, err)
			}
			break
		}
	}
	t.Logf("%d frames: %d written whole, %d not at all (full), %d in part", len(want), whole, none, part)
	if part == 0 || none == 0 || whole == 0 {
		t.Fatalf("the socket took %d frames whole, %d not at all and %d in part: not every case was tried", whole, none, part)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d frames of %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: got %d bytes %.40q…, want %d bytes %.40q…", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}
