package pgtest

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestServer starts a server, checks that two DSNs are two separate
// databases, that the URL's password is really checked, and that Stop takes
// the server away.
func TestServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := Start(t)

	dsn1, dsn2 := s.DSN(t), s.DSN(t)
	if dsn1 == dsn2 {
		t.Fatalf("two DSN calls gave the same URL %s", dsn1)
	}
	c1 := connect(ctx, t, dsn1)
	c2 := connect(ctx, t, dsn2)

	if _, err := c1.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, name text)"); err != nil {
		t.Fatalf("create table in %s: %v", dsn1, err)
	}
	if _, err := c1.Exec(ctx, "INSERT INTO t VALUES (1, 'é')"); err != nil {
		t.Fatalf("insert into %s: %v", dsn1, err)
	}
	var name string
	if err := c1.QueryRow(ctx, "SELECT name FROM t WHERE id = 1").Scan(&name); err != nil || name != "é" {
		t.Fatalf("select from %s: got %q, %v; want é", dsn1, name, err)
	}
	var found *string
	if err := c2.QueryRow(ctx, "SELECT to_regclass('t')::text").Scan(&found); err != nil {
		t.Fatalf("looking for table t in %s: %v", dsn2, err)
	}
	if found != nil {
		t.Fatalf("table t, created in %s, is also in %s", dsn1, dsn2)
	}
	if _, err := c2.Exec(ctx, "SELECT * FROM t"); err == nil {
		t.Fatalf("SELECT from t in %s worked; it should not exist there", dsn2)
	}

	u, err := url.Parse(dsn1)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("parley", "wrong")
	if c, err := pgx.Connect(ctx, u.String()); err == nil {
		c.Close(ctx)
		t.Fatalf("connected with a wrong password: %s", u)
	}

	c1.Close(ctx)
	c2.Close(ctx)
	s.Stop()
	s.Stop() // safe to call twice
	if c, err := pgx.Connect(ctx, dsn1); err == nil {
		c.Close(ctx)
		t.Fatalf("connected to %s after Stop", dsn1)
	}
}

func connect(ctx context.Context, t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
