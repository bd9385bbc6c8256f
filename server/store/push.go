package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// PushSubscription is one device's Web Push subscription (the browser's
// PushSubscription.toJSON()): where to POST and the keys to encrypt for.
type PushSubscription struct {
	Endpoint string
	// P256dh is the subscription's P-256 public key (65 bytes, uncompressed)
	// and Auth its 16-byte authentication secret (RFC 8291).
	P256dh []byte
	Auth   []byte
	UserID int64
	// VAPIDKey is the server's VAPID public key (base64url) the subscription
	// was made with: one made with another key is refused by its push service.
	VAPIDKey string
}

// SavePushSubscription records the subscription of the device signed in with
// token, replacing any other subscription of that session (one per device)
// and any earlier record of the same endpoint. ErrNotFound when the session
// does not exist.
func (s *Store) SavePushSubscription(ctx context.Context, token string, sub PushSubscription) error {
	hash := tokenHash(token)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save push subscription: %w", err)
	}
	defer tx.Rollback()
	var uid int64
	if err := tx.QueryRowContext(ctx, s.d.q(`SELECT user_id FROM sessions WHERE token_hash = ?`), hash).Scan(&uid); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: save push subscription: %w", ErrNotFound)
		}
		return fmt.Errorf("store: save push subscription: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM push_subscriptions WHERE token_hash = ? OR endpoint = ?`), hash, sub.Endpoint); err != nil {
		return fmt.Errorf("store: save push subscription: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO push_subscriptions (endpoint, p256dh, auth, user_id, token_hash, vapid_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), sub.Endpoint, sub.P256dh, sub.Auth, uid, hash, sub.VAPIDKey, s.now().UnixMilli()); err != nil {
		return fmt.Errorf("store: save push subscription: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save push subscription: %w", err)
	}
	return nil
}

// DeletePushSubscriptionOf removes the subscription of the session signed in
// with token and reports whether there was one.
func (s *Store) DeletePushSubscriptionOf(ctx context.Context, token string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM push_subscriptions WHERE token_hash = ?`), tokenHash(token))
	if err != nil {
		return false, fmt.Errorf("store: delete push subscription: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: delete push subscription: %w", err)
	}
	return n > 0, nil
}

// DeletePushEndpoint removes the subscription of an endpoint (its push
// service said it is gone: 404 or 410).
func (s *Store) DeletePushEndpoint(ctx context.Context, endpoint string) error {
	if _, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM push_subscriptions WHERE endpoint = ?`), endpoint); err != nil {
		return fmt.Errorf("store: delete push endpoint: %w", err)
	}
	return nil
}

// PushSubscriptions returns the subscriptions of a user's devices, oldest
// first.
func (s *Store) PushSubscriptions(ctx context.Context, userID int64) ([]PushSubscription, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT endpoint, p256dh, auth, user_id, vapid_key FROM push_subscriptions
		WHERE user_id = ? ORDER BY created_at, endpoint`), userID)
	if err != nil {
		return nil, fmt.Errorf("store: push subscriptions of user %d: %w", userID, err)
	}
	defer rows.Close()
	var subs []PushSubscription
	for rows.Next() {
		var p PushSubscription
		if err := rows.Scan(&p.Endpoint, &p.P256dh, &p.Auth, &p.UserID, &p.VAPIDKey); err != nil {
			return nil, fmt.Errorf("store: push subscriptions of user %d: %w", userID, err)
		}
		subs = append(subs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: push subscriptions of user %d: %w", userID, err)
	}
	return subs, nil
}

// HasPushSubscriptions reports, for each of the user IDs, whether the user
// has a subscription made with the VAPID key vapidKey.
func (s *Store) HasPushSubscriptions(ctx context.Context, vapidKey string, userIDs ...int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(userIDs))
	for _, id := range userIDs {
		var n int
		if err := s.db.QueryRowContext(ctx, s.d.q(`SELECT COUNT(*) FROM push_subscriptions WHERE user_id = ? AND vapid_key = ?`),
			id, vapidKey).Scan(&n); err != nil {
			return nil, fmt.Errorf("store: push subscriptions of user %d: %w", id, err)
		}
		out[id] = n > 0
	}
	return out, nil
}
