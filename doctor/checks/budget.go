package checks

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"compozy.dev/setup/doctor"
)

// OtherClients is what the connection budget asks the read-only connection besides
// PostgresConn: the client connections the server has now that are not the doctor's own
// (application_name ApplicationName). Without it, ClientBackends counts every one.
type OtherClients interface {
	OtherClients(ctx context.Context) (int, error)
}

var _ OtherClients = handleConn{}

func (c handleConn) OtherClients(ctx context.Context) (int, error) {
	var n int
	err := c.h.SQL.QueryRowContext(ctx, `SELECT count(*)::int FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND application_name IS DISTINCT FROM $1`, ApplicationName).Scan(&n)
	return n, err
}

// budget is what postgres.connections weighs: replicas × max_open_conns plus the connections
// other clients hold now, against max_connections minus the reserved slots.
type budget struct {
	Replicas, MaxOpen                 int
	MaxConns, SuperReserved, Reserved int
	Others                            int
}

// budgetCheck is postgres.connections' run: it reads the server's limits and counts the other
// clients' connections, for s.in.Replicas compozy processes (1 when not given).
func (p *pgProbe) budgetCheck(ctx context.Context, c PostgresConn, replicas int) doctor.Result {
	b := budget{Replicas: max(replicas, 1), MaxOpen: p.cfg.MaxOpenConns}
	for _, s := range []struct {
		name string
		to   *int
	}{{"max_connections", &b.MaxConns}, {"superuser_reserved_connections", &b.SuperReserved}} {
		v, err := c.Show(ctx, s.name)
		if err == nil {
			*s.to, err = strconv.Atoi(strings.TrimSpace(v))
		}
		if err != nil {
			return doctor.Fail("cannot read "+s.name, p.redact(err.Error()), doctor.Fix{})
		}
	}
	// PostgreSQL 16 adds reserved_connections (for roles with pg_use_reserved_connections);
	// older servers have no such setting.
	if v, err := c.Show(ctx, "reserved_connections"); err == nil {
		b.Reserved, _ = strconv.Atoi(strings.TrimSpace(v))
	}
	count := c.ClientBackends
	if oc, ok := c.(OtherClients); ok {
		count = oc.OtherClients
	}
	others, err := count(ctx)
	if err != nil {
		return doctor.Fail("cannot count the connections in use", p.redact(err.Error()), doctor.Fix{})
	}
	b.Others = others
	return budgetResult(b)
}

// budgetResult judges the budget: a warning above 80 % of the slots, a failure above 100 %.
func budgetResult(b budget) doctor.Result {
	slots := b.MaxConns - b.SuperReserved - b.Reserved
	need := b.Replicas*b.MaxOpen + b.Others
	reserved := fmt.Sprintf("%d superuser_reserved_connections", b.SuperReserved)
	if b.Reserved > 0 {
		reserved += fmt.Sprintf(" - %d reserved_connections", b.Reserved)
	}
	pct := 0
	if slots > 0 {
		pct = need * 100 / slots
	}
	msg := fmt.Sprintf("%d × max_open_conns %d + %d held by other clients = %d of %d connections (max_connections %d - %s): %d%%",
		b.Replicas, b.MaxOpen, b.Others, need, slots, b.MaxConns, reserved, pct)
	if slots <= 0 {
		msg = fmt.Sprintf("max_connections %d - %s leaves no connection for compozy", b.MaxConns, reserved)
	}
	processes := "1 compozy process"
	if b.Replicas > 1 {
		processes = strconv.Itoa(b.Replicas) + " compozy processes"
	}
	fix := doctor.Fix{Text: fmt.Sprintf("lower database.max_open_conns (each of the %s opens up to that many), raise max_connections (a server restart), or put PgBouncer in front", processes)}
	if fit := (slots*4/5 - b.Others) / b.Replicas; fit >= 1 && fit < b.MaxOpen {
		fix.Text += fmt.Sprintf("; max_open_conns %d keeps %s under 80 %%", fit, processes)
	}
	switch {
	case slots <= 0 || need > slots:
		return doctor.Fail(msg, "at full load the server refuses connections: \"sorry, too many clients already\"", fix)
	case need*5 > slots*4:
		return doctor.Warn(msg, "above 80 % of the server's connections: little room for another process, a migration or psql", fix)
	}
	return doctor.Pass(msg)
}
