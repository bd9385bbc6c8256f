package turntest

import (
	"net"
	"testing"
	"time"
)

// TestLossyProxy sends datagrams through the proxy to an echo server: with
// no loss every one comes back, with loss 1 none does, and at 30 % the
// proxy drops about that share of what crosses it.
func TestLossyProxy(t *testing.T) {
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := echo.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteToUDP(buf[:n], from)
		}
	}()
	p := NewLossyProxy(t, echo.LocalAddr().String())
	c, err := net.Dial("udp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// roundTrips sends n datagrams one at a time and counts the echoes,
	// waiting up to wait for each. Without loss the wait is long: under CI
	// load an echo took more than 50 ms, was counted lost, and came back as
	// the next one's.
	roundTrips := func(n int, wait time.Duration) (got int) {
		buf := make([]byte, 64)
		for i := 0; i < n; i++ {
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(wait))
			if _, err := c.Read(buf); err == nil {
				got++
			}
		}
		return got
	}
	if got := roundTrips(20, 5*time.Second); got != 20 {
		t.Fatalf("no loss: %d of 20 echoes", got)
	}
	p.SetLoss(1)
	if got := roundTrips(5, 50*time.Millisecond); got != 0 {
		t.Fatalf("loss 1: %d of 5 echoes", got)
	}
	p.SetLoss(0.3)
	d0, p0 := p.Counts()
	roundTrips(200, 50*time.Millisecond)
	d1, p1 := p.Counts()
	dropped, passed := float64(d1-d0), float64(p1-p0)
	if share := dropped / (dropped + passed); share < 0.2 || share > 0.4 {
		t.Fatalf("loss 0.3: dropped %v of %v datagrams", dropped, dropped+passed)
	}
}
