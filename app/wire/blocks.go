package wire

// Requests that manage the caller's block list. A blocked user's calls and
// invites are answered as if the blocker were engaged, and the blocker is
// not rung; see PROTOCOL.md.
const (
	// TypeBlockAdd blocks a user: BlockRequest -> BlockedUser.
	TypeBlockAdd = "block.add"
	// TypeBlockRemove unblocks a user: BlockRequest -> nothing.
	TypeBlockRemove = "block.remove"
	// TypeBlockList lists the users this user blocked: no payload -> BlockList.
	TypeBlockList = "block.list"
)

// DefaultMaxBlocks is how many users one account may block unless the
// server is configured otherwise.
const DefaultMaxBlocks = 1000

// BlockRequest names the user to block or unblock, by JID or bare username.
type BlockRequest struct {
	JID string `json:"userJid"`
}

// BlockedUser is one entry of a block list.
type BlockedUser struct {
	JID         string `json:"userJid"`
	DisplayName string `json:"displayName"`
	// BlockedAt is when the user was blocked, in Unix milliseconds.
	BlockedAt int64 `json:"blockedAt"`
}

// BlockList is the reply to TypeBlockList, most recently blocked first.
type BlockList struct {
	Users []BlockedUser `json:"users"`
}
