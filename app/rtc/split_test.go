package rtc

import (
	"strings"
	"testing"
)

// TestSplitCandidates: candidate lines leave the description, each named by
// its section's index and mid (which may come after them); the rest stays
// byte for byte.
func TestSplitCandidates(t *testing.T) {
	sdp := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host generation 0\r\n" +
		"a=ice-ufrag:abcd\r\na=mid:0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n" +
		"a=candidate:2 1 udp 1686052607 198.51.100.7 50001 typ srflx raddr 192.0.2.1 rport 50000\r\n" +
		"a=end-of-candidates\r\n"
	rest, cands := SplitCandidates(sdp)
	if strings.Contains(rest, "candidate") {
		t.Fatalf("candidates left in the description:\n%s", rest)
	}
	want := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
	if rest != want {
		t.Fatalf("description without candidates:\n%q\nwant\n%q", rest, want)
	}
	if len(cands) != 2 {
		t.Fatalf("%d candidates, want 2: %+v", len(cands), cands)
	}
	for i, c := range cands {
		if c.SDPMLineIndex == nil || int(*c.SDPMLineIndex) != i || c.SDPMid == nil || *c.SDPMid != []string{"0", "1"}[i] ||
			!strings.HasPrefix(c.Candidate, "candidate:") {
			t.Errorf("candidate %d: %+v", i, c)
		}
	}
	if rest, cands := SplitCandidates("v=0\n"); rest != "v=0\n" || len(cands) != 0 {
		t.Errorf("a description without candidates changed: %q %v", rest, cands)
	}
}
