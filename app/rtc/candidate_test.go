package rtc

import "testing"

// A remote candidate is applied only with the description whose ICE
// credentials it names: after an ICE restart, candidates overtake the offer
// or answer that carries the new credentials.
func TestCandidateUfrag(t *testing.T) {
	sdp := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:NEWone\r\na=ice-pwd:x\r\n"
	for _, tc := range []struct {
		candidate, ufrag string
		matches          bool
	}{
		{"candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host ufrag NEWone", "NEWone", true},
		{"candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host generation 0 ufrag OLDone network-id 1", "OLDone", false},
		{"candidate:2 1 udp 58597375 127.0.0.1 40373 typ relay raddr 0.0.0.0 rport 0 generation 0 ufrag NEWone", "NEWone", true},
		{"candidate:2 1 udp 58597375 127.0.0.1 40373 typ relay raddr 0.0.0.0 rport 0", "", true},
		{"candidate:3 1 udp 1 192.0.2.1 5000 typ ufrag", "", true}, // a type named ufrag is no extension
	} {
		if got := candidateUfrag(tc.candidate); got != tc.ufrag {
			t.Errorf("candidateUfrag(%q) = %q, want %q", tc.candidate, got, tc.ufrag)
		}
		if got := matchesUfrag(tc.candidate, descriptionUfrag(sdp)); got != tc.matches {
			t.Errorf("matchesUfrag(%q) = %v, want %v", tc.candidate, got, tc.matches)
		}
	}
	if got := descriptionUfrag(sdp); got != "NEWone" {
		t.Fatalf("descriptionUfrag = %q", got)
	}
}
