package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTooMany: Block when the block list is already at its maximum. Nothing
// was changed.
var ErrTooMany = errors.New("store: too many entries")

// Blocked is one entry of a user's block list: the blocked account and when
// it was blocked.
type Blocked struct {
	User User
	At   time.Time
}

// Block adds blockedID to userID's block list, which may hold at most max
// entries (max <= 0: no limit). Blocking someone already blocked changes
// nothing and returns the existing entry. Blocking yourself or a guest is
// ErrInvalid, an unknown account ErrNotFound, a full list ErrTooMany; then
// nothing changed.
func (s *Store) Block(ctx context.Context, userID, blockedID int64, max int) (Blocked, error) {
	if userID == blockedID {
		return Blocked{}, fmt.Errorf("store: block %d: %w: yourself", blockedID, ErrInvalid)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Blocked{}, fmt.Errorf("store: block %d: %w", blockedID, err)
	}
	defer tx.Rollback()
	if err := s.d.lockUser(ctx, tx, userID); err != nil {
		return Blocked{}, fmt.Errorf("store: block %d: %w", blockedID, err)
	}
	b, err := s.blockedEntry(ctx, tx, userID, blockedID)
	if err == nil {
		return b, nil // already blocked
	}
	if !errors.Is(err, ErrNotFound) {
		return Blocked{}, fmt.Errorf("store: block %d: %w", blockedID, err)
	}
	var guest bool
	err = tx.QueryRowContext(ctx, s.d.q(`SELECT guest FROM users WHERE id = ?`), blockedID).Scan(&guest)
	if errors.Is(err, sql.ErrNoRows) {
		return Blocked{}, fmt.Errorf("store: block %d: %w", blockedID, ErrNotFound)
	}
	if err != nil {
		return Blocked{}, fmt.Errorf("store: block %d: %w", blockedID, err)
	}
	if guest {
		return Blocked{}, fmt.Errorf("store: block %d: %w: a guest", blockedID, ErrInvalid)
	}
	if max > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT count(*) FROM blocks WHERE user_id = ?`), userID).Scan(&n); err != nil {
			return Blocked{}, fmt.Errorf("store: block %d: count: %w", blockedID, err)
		}
		if n >= max {
			return Blocked{}, fmt.Errorf("store: block %d: %w: %d blocked already", blockedID, ErrTooMany, n)
		}
	}
	if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO blocks (user_id, blocked_id, blocked_at) VALUES (?, ?, ?)`),
		userID, blockedID, time.Now().UnixMilli()); err != nil {
		return Blocked{}, fmt.Errorf("store: block %d: %w", blockedID, err)
	}
	if b, err = s.blockedEntry(ctx, tx, userID, blockedID); err != nil {
		return Blocked{}, fmt.Errorf("store: block %d: read back: %w", blockedID, err)
	}
	if err := tx.Commit(); err != nil {
		return Blocked{}, fmt.Errorf("store: block %d: commit: %w", blockedID, err)
	}
	return b, nil
}

// blockedEntry reads one entry of userID's block list, or ErrNotFound.
func (s *Store) blockedEntry(ctx context.Context, tx *sql.Tx, userID, blockedID int64) (Blocked, error) {
	var b Blocked
	err := tx.QueryRowContext(ctx, s.d.q(`SELECT u.id, u.username, u.display_name, u.guest, u.created_at, b.blocked_at
		FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = ? AND b.blocked_id = ?`), userID, blockedID).
		Scan(&b.User.ID, &b.User.Username, &b.User.DisplayName, &b.User.Guest, scanMillis(&b.User.Created), scanMillis(&b.At))
	if errors.Is(err, sql.ErrNoRows) {
		return Blocked{}, ErrNotFound
	}
	return b, err
}

// Unblock removes blockedID from userID's block list. It reports whether
// there was such an entry; removing one that is not there changes nothing.
func (s *Store) Unblock(ctx context.Context, userID, blockedID int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?`), userID, blockedID)
	if err != nil {
		return false, fmt.Errorf("store: unblock %d: %w", blockedID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: unblock %d: %w", blockedID, err)
	}
	return n > 0, nil
}

// BlockedUsers returns userID's block list, most recently blocked first.
func (s *Store) BlockedUsers(ctx context.Context, userID int64) ([]Blocked, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT u.id, u.username, u.display_name, u.guest, u.created_at, b.blocked_at
		FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = ?
		ORDER BY b.blocked_at DESC, u.username`), userID)
	if err != nil {
		return nil, fmt.Errorf("store: blocked users: %w", err)
	}
	defer rows.Close()
	list := []Blocked{}
	for rows.Next() {
		var b Blocked
		if err := rows.Scan(&b.User.ID, &b.User.Username, &b.User.DisplayName, &b.User.Guest,
			scanMillis(&b.User.Created), scanMillis(&b.At)); err != nil {
			return nil, fmt.Errorf("store: blocked users: %w", err)
		}
		list = append(list, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: blocked users: %w", err)
	}
	return list, nil
}

// Blockers returns which of among have blocked blockedID: what the hub asks
// when blockedID rings them (call.create, call.invite), so that it can treat
// those callees as engaged.
func (s *Store) Blockers(ctx context.Context, blockedID int64, among ...int64) ([]int64, error) {
	if len(among) == 0 {
		return nil, nil
	}
	// One query for all of them: on PostgreSQL each is a round trip.
	args := make([]any, 0, len(among)+1)
	args = append(args, blockedID)
	for _, id := range among {
		args = append(args, id)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(among)), ", ")
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT user_id FROM blocks WHERE blocked_id = ? AND user_id IN (`+marks+`)`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: blockers of %d: %w", blockedID, err)
	}
	defer rows.Close()
	blocked := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: blockers of %d: %w", blockedID, err)
		}
		blocked[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: blockers of %d: %w", blockedID, err)
	}
	var out []int64
	for _, id := range among { // in the order asked
		if blocked[id] {
			out = append(out, id)
		}
	}
	return out, nil
}
