package store

import (
	"context"
	"database/sql"
	"fmt"
)

// LiveCall is the saved state of one live call: the hub's own encoding of
// it, opaque to the store. A nil State deletes the call's row (it ended).
type LiveCall struct {
	RoomID string
	State  []byte
}

// SaveCalls writes call logs and live call state in one transaction: when it
// returns nil both are on disk, so a call is either live in the database or
// its ended parts are logged, never both or neither. Calls are applied in
// order (a later entry for the same room wins); logs as AddCallLogs does.
func (s *Store) SaveCalls(ctx context.Context, logs []CallLog, live []LiveCall) error {
	if len(logs) == 0 && len(live) == 0 {
		return nil
	}
	// Plain statements, not prepared ones: the usual save is one call, and
	// preparing costs PostgreSQL a round trip each (pgx caches statements
	// per connection by itself). One statement alone needs no transaction
	// around it, which saves PostgreSQL two more.
	if len(logs) == 0 && len(live) == 1 {
		if err := s.saveCall(ctx, s.db, live[0]); err != nil {
			return fmt.Errorf("store: save call %s: %w", live[0].RoomID, err)
		}
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save calls: %w", err)
	}
	defer tx.Rollback()
	if err := s.addCallLogs(ctx, tx, logs); err != nil {
		return err
	}
	for _, c := range live {
		if err := s.saveCall(ctx, tx, c); err != nil {
			return fmt.Errorf("store: save call %s: %w", c.RoomID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save calls: commit: %w", err)
	}
	return nil
}

// LiveCalls returns every saved live call, in no particular order.
func (s *Store) LiveCalls(ctx context.Context) ([]LiveCall, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT room_id, state FROM live_calls`))
	if err != nil {
		return nil, fmt.Errorf("store: live calls: %w", err)
	}
	defer rows.Close()
	var out []LiveCall
	for rows.Next() {
		var c LiveCall
		if err := rows.Scan(&c.RoomID, &c.State); err != nil {
			return nil, fmt.Errorf("store: live calls: scan: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: live calls: %w", err)
	}
	return out, nil
}

// execer is a database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// saveCall writes or (State nil) deletes one live call's row.
func (s *Store) saveCall(ctx context.Context, db execer, c LiveCall) error {
	var err error
	if c.State == nil {
		_, err = db.ExecContext(ctx, s.d.q(`DELETE FROM live_calls WHERE room_id = ?`), c.RoomID)
	} else {
		_, err = db.ExecContext(ctx, s.d.q(`INSERT INTO live_calls (room_id, state, saved_at) VALUES (?, ?, ?)
			ON CONFLICT (room_id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at`),
			c.RoomID, c.State, s.now().UnixMilli())
	}
	return err
}
