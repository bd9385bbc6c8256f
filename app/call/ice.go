package call

import (
	"context"
	"time"

	"parley/app/rtc"
	"parley/app/wire"
)

// ICE configuration: the server sends STUN/TURN servers with short-lived
// credentials at every sign-in and resume; the engine asks for fresh ones
// before they expire, so a call that starts hours after sign-in (or an ICE
// restart late in a long call) still has working TURN credentials.

// Transport policies accepted by Config.ICEPolicy.
const (
	ICEPolicyAll   = wire.ICEPolicyAll
	ICEPolicyRelay = wire.ICEPolicyRelay
)

// minICERefresh bounds how often credentials are refreshed, whatever the
// server says about their lifetime.
const minICERefresh = time.Second

// setICE takes in the ICE configuration of a sign-in or refresh. Called with
// e.mu held.
func (e *Engine) setICE(ice wire.ICEConfig) {
	e.ice = ice
	e.work.push(e.updatePeersICE) // a restart gathers with the fresh credentials
}

// ICE returns the ICE configuration new peer connections use: the server's
// servers and credentials, with the page's own policy (Config.ICEPolicy)
// when it is stricter.
func (e *Engine) ICE() wire.ICEConfig {
	e.mu.Lock()
	ice, page := e.ice, e.icePolicy
	e.mu.Unlock()
	if page == wire.ICEPolicyRelay {
		ice.Policy = wire.ICEPolicyRelay
	}
	return ice
}

// SetICEPolicy sets this page's own transport policy (see Config.ICEPolicy)
// for peer connections made from now on. Only "all" (or "") and "relay"
// are valid.
func (e *Engine) SetICEPolicy(policy string) error {
	switch policy {
	case "", wire.ICEPolicyAll, wire.ICEPolicyRelay:
	default:
		return wire.BadRequest("iceTransportPolicy must be %q or %q, not %q.", wire.ICEPolicyAll, wire.ICEPolicyRelay, policy)
	}
	e.mu.Lock()
	e.icePolicy = policy
	e.mu.Unlock()
	return nil
}

// rtcConfig is the peer connection configuration for a new peer.
func (e *Engine) rtcConfig() rtc.Config {
	cfg := e.cfg.RTC
	ice := e.ICE()
	cfg.ICEServers = append(append([]wire.ICEServer(nil), cfg.ICEServers...), ice.Servers...)
	if ice.Policy != "" {
		cfg.ICEPolicy = ice.Policy
	}
	return cfg
}

// refreshICE keeps conn's credentials fresh until conn ends: it asks for new
// ones when four fifths of the current ones' remaining lifetime has passed.
func (e *Engine) refreshICE(conn *wire.Conn) {
	for {
		e.mu.Lock()
		expires := e.ice.Expires
		e.mu.Unlock()
		if expires == 0 {
			return // nothing expires: nothing to refresh
		}
		wait := time.Until(time.UnixMilli(expires)) * 4 / 5
		if wait < minICERefresh {
			wait = minICERefresh
		}
		t := time.NewTimer(wait)
		select {
		case <-conn.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var ice wire.ICEConfig
		if err := e.request(context.Background(), conn, wire.TypeICERefresh, nil, &ice); err != nil {
			e.log.Warn("ICE refresh failed", "err", err)
			select {
			case <-conn.Done():
				return
			case <-time.After(minICERefresh):
			}
			continue
		}
		e.mu.Lock()
		if e.conn == conn {
			e.setICE(ice)
		}
		e.mu.Unlock()
	}
}
