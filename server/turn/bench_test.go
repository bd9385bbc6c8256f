//go:build unix

package turn

import (
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRelayThroughput relays one stream of 1200-byte packets (a video
// RTP packet's size) client → server → client over UDP on loopback with no
// bandwidth cap, keeping at most a window of packets in flight so loopback
// buffers do not overflow. It reports the delivered Mbit/s and cpu/stream,
// the whole process's CPU time (server and both clients) per second of
// wall time: 1.0 is one core busy.
//
//	go test -run '^$' -bench RelayThroughput -benchtime 200000x ./server/turn
func BenchmarkRelayThroughput(b *testing.B) {
	s := startServer(b, Config{MaxAllocationsPerUser: -1})
	a := dialAs(b, s, overUDP, "alice@localhost")
	c := dialAs(b, s, overUDP, "bob@localhost")
	ra, rc := a.mustAllocate(b), c.mustAllocate(b)
	if err := a.c.CreatePermission(rc.LocalAddr()); err != nil {
		b.Fatal(err)
	}
	if err := c.c.CreatePermission(ra.LocalAddr()); err != nil {
		b.Fatal(err)
	}
	const size, window = 1200, 64
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			rc.SetReadDeadline(time.Now().Add(time.Second))
			n, _, err := rc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n == size {
				got.Add(1)
			}
		}
	}()
	pkt := make([]byte, size)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	var lost int64
	for i := int64(0); i < int64(b.N); i++ {
		// Wait for room in the window; after 50ms without progress count
		// the window's packets as lost rather than stall.
		stalled := time.Now()
		for i-got.Load()-lost >= window {
			if time.Since(stalled) > 50*time.Millisecond {
				lost = i - got.Load()
				break
			}
			time.Sleep(20 * time.Microsecond)
		}
		if _, err := ra.WriteTo(pkt, rc.LocalAddr()); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for got.Load()+lost < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	delivered := got.Load()
	b.ReportMetric(float64(delivered*size*8)/elapsed.Seconds()/1e6, "Mbit/s")
	b.ReportMetric(float64(delivered)/float64(b.N)*100, "%delivered")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cpu/stream")
	rc.Close()
	<-done
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
