package checks

import (
	"context"
	"errors"
	"testing"

	"compozy.dev/setup/doctor"
)

// othersConn is fakeConn that counts the other clients' connections itself (OtherClients).
type othersConn struct {
	*fakeConn
	others int
	err    error
}

func (c *othersConn) OtherClients(context.Context) (int, error) { return c.others, c.err }

func TestConnectionBudget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int
		maxOpen  int
		conn     Conn
		want     want
	}{
		{"one process, room to spare", 0, 10, &fakeConn{backends: 5},
			want{doctor.StatusPass, `^1 × max_open_conns 10 \+ 5 held by other clients = 15 of 97 connections \(max_connections 100 - 3 superuser_reserved_connections\): 15%\n$`}},
		{"three replicas above 80 %", 3, 25, &fakeConn{backends: 5},
			want{doctor.StatusWarn, `^3 × max_open_conns 25 \+ 5 held by other clients = 80 of 97 connections .*: 82%\nabove 80 %`}},
		{"exactly the slots is not over", 4, 20, &fakeConn{backends: 17}, want{doctor.StatusWarn, `= 97 of 97 connections .*: 100%`}},
		{"one over fails", 4, 20, &fakeConn{backends: 18},
			want{doctor.StatusFail, `^4 × max_open_conns 20 \+ 18 held by other clients = 98 of 97 connections .*: 101%\n.*too many clients already`}},
		{"a thousand replicas", 1000, 25, &fakeConn{}, want{doctor.StatusFail, `^1000 × max_open_conns 25 \+ 0 held by other clients = 25000 of 97 connections .*: 25773%`}},
		{"reserved_connections of PostgreSQL 16", 1, 80, &fakeConn{show: map[string]string{"max_connections": "100", "superuser_reserved_connections": "3", "reserved_connections": "10"}},
			want{doctor.StatusWarn, `= 80 of 87 connections \(max_connections 100 - 3 superuser_reserved_connections - 10 reserved_connections\): 91%`}},
		{"no slots left", 1, 10, &fakeConn{show: map[string]string{"max_connections": "3", "superuser_reserved_connections": "3"}},
			want{doctor.StatusFail, `max_connections 3 - 3 superuser_reserved_connections leaves no connection for compozy`}},
		{"the doctor's own sessions are not others'", 1, 10, &othersConn{fakeConn: &fakeConn{backends: 50}, others: 2}, want{doctor.StatusPass, `\+ 2 held by other clients = 12 of 97`}},
		{"others uncountable", 1, 10, &othersConn{fakeConn: &fakeConn{}, err: errors.New("boom")}, want{doctor.StatusFail, `cannot count the connections in use`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := postgresDB()
			db.MaxOpenConns = tc.maxOpen
			s := testSet(t, db, Inputs{Replicas: tc.replicas}, tc.conn, nil)
			if _, err := s.src.get(t.Context()); err != nil {
				t.Fatal(err)
			}
			runCheck(t, s.postgresChecks(), doctor.IDPostgresConnections, tc.want)
		})
	}
}

func TestBudgetFixSuggestsAPoolSize(t *testing.T) {
	r := budgetResult(budget{Replicas: 4, MaxOpen: 25, MaxConns: 100, SuperReserved: 3, Others: 5})
	if r.Status != doctor.StatusFail || r.Fix.Text == "" {
		t.Fatalf("%+v", r)
	}
	// (97 × 0.8 - 5) / 4 = 18: the pool size that keeps four processes under 80 %.
	if want := "max_open_conns 18 keeps 4 compozy processes under 80 %"; !contains(r.Fix.Text, want) {
		t.Errorf("fix %q, want %q in it", r.Fix.Text, want)
	}
}

func contains(s, sub string) bool { return rx(`\Q` + sub + `\E`).MatchString(s) }
