package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"parley/app/wire"
)

func newLogID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func jsonList(l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// AddCallLogs writes call log entries in one transaction; when it returns nil
// they are on disk. Entries without a CallLogID get a random one. A second
// entry for the same user and room is ignored, so retrying is safe, unless it
// has Replace set: then it overwrites the earlier entry (keeping its
// CallLogID), which is just as safe to retry.
func (s *Store) AddCallLogs(ctx context.Context, logs ...CallLog) error {
	if len(logs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: add call logs: %w", err)
	}
	defer tx.Rollback()
	if err := s.addCallLogs(ctx, tx, logs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: add call logs: commit: %w", err)
	}
	return nil
}

// addCallLogs writes logs in tx (see AddCallLogs).
func (s *Store) addCallLogs(ctx context.Context, tx *sql.Tx, logs []CallLog) error {
	var err error
	const insert = `INSERT INTO call_logs (user_id, call_log_id, room_id, room_link, call_mode,
		call_type, call_state, from_user, to_users, user_list, invite_user_list, group_id, call_time, start_time,
		end_time, duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	stmt, err := tx.PrepareContext(ctx, s.d.q(insert+` ON CONFLICT (user_id, room_id) DO NOTHING`))
	if err != nil {
		return fmt.Errorf("store: add call logs: %w", err)
	}
	defer stmt.Close()
	replace, err := tx.PrepareContext(ctx, s.d.q(insert+` ON CONFLICT (user_id, room_id) DO UPDATE SET
		room_link = excluded.room_link, call_mode = excluded.call_mode, call_type = excluded.call_type,
		call_state = excluded.call_state, from_user = excluded.from_user, to_users = excluded.to_users,
		user_list = excluded.user_list, invite_user_list = excluded.invite_user_list, group_id = excluded.group_id,
		call_time = excluded.call_time, start_time = excluded.start_time, end_time = excluded.end_time,
		duration = excluded.duration`))
	if err != nil {
		return fmt.Errorf("store: add call logs: %w", err)
	}
	defer replace.Close()
	for _, l := range logs {
		if l.CallLogID == "" {
			if l.CallLogID, err = newLogID(); err != nil {
				return fmt.Errorf("store: add call logs: id: %w", err)
			}
		}
		to, err1 := jsonList(l.ToUsers)
		users, err2 := jsonList(l.UserList)
		invited, err3 := jsonList(l.InviteUserList)
		if err := errors.Join(err1, err2, err3); err != nil {
			return fmt.Errorf("store: add call log %s: %w", l.CallLogID, err)
		}
		st := stmt
		if l.Replace {
			st = replace
		}
		if _, err := st.ExecContext(ctx, l.UserID, l.CallLogID, l.RoomID, l.RoomLink, l.CallMode, l.CallType,
			l.CallState, l.FromUser, to, users, invited, l.GroupID, l.CallTime, l.StartTime, l.EndTime, l.Duration); err != nil {
			if isForeignKeyViolation(err) {
				err = fmt.Errorf("user %d: %w", l.UserID, ErrNotFound)
			}
			return fmt.Errorf("store: add call log %s: %w", l.CallLogID, err)
		}
	}
	return nil
}

// CallLogs returns page (1-based) of the user's call log, PageSize entries,
// newest first, and the number of pages. No entries: an empty, non-nil list
// and TotalPages 0.
func (s *Store) CallLogs(ctx context.Context, userID int64, page int) (wire.CallLogPage, error) {
	out := wire.CallLogPage{CallLogs: []wire.CallLog{}}
	if page < 1 {
		return out, fmt.Errorf("store: call logs page %d: %w", page, ErrInvalid)
	}
	tx, err := s.db.BeginTx(ctx, s.d.readTx())
	if err != nil {
		return out, fmt.Errorf("store: call logs: %w", err)
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, s.d.q(`SELECT count(*) FROM call_logs WHERE user_id = ?`), userID).Scan(&total); err != nil {
		return out, fmt.Errorf("store: call logs: count: %w", err)
	}
	out.TotalPages = (total + PageSize - 1) / PageSize
	if page > out.TotalPages {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, s.d.q(`SELECT call_log_id, room_id, room_link, call_mode, call_type, call_state,
		from_user, to_users, user_list, invite_user_list, group_id, call_time, start_time, end_time, duration
		FROM call_logs WHERE user_id = ? ORDER BY call_time DESC, id DESC LIMIT ? OFFSET ?`),
		userID, PageSize, (page-1)*PageSize)
	if err != nil {
		return out, fmt.Errorf("store: call logs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			l                  wire.CallLog
			to, users, invited string
			groupID            sql.NullString
			startTime          sql.NullInt64
		)
		if err := rows.Scan(&l.CallLogID, &l.RoomID, &l.RoomLink, &l.CallMode, &l.CallType, &l.CallState,
			&l.FromUser, &to, &users, &invited, &groupID, &l.CallTime, &startTime, &l.EndTime, &l.Duration); err != nil {
			return out, fmt.Errorf("store: call logs: scan: %w", err)
		}
		for _, f := range []struct {
			s   string
			dst *[]string
		}{{to, &l.ToUsers}, {users, &l.UserList}, {invited, &l.InviteUserList}} {
			if err := json.Unmarshal([]byte(f.s), f.dst); err != nil {
				return out, fmt.Errorf("store: call log %s: %w", l.CallLogID, err)
			}
			if *f.dst == nil {
				*f.dst = []string{}
			}
		}
		if groupID.Valid {
			l.GroupID = &groupID.String
		}
		if startTime.Valid {
			l.StartTime = &startTime.Int64
		}
		out.CallLogs = append(out.CallLogs, l)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: call logs: %w", err)
	}
	return out, nil
}

// scanMillis scans an epoch-milliseconds column into a time.Time.
func scanMillis(t *time.Time) sql.Scanner { return millis{t} }

type millis struct{ t *time.Time }

func (m millis) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("timestamp column holds %T", v)
	}
	*m.t = time.UnixMilli(n)
	return nil
}
