package checks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/storage/factory"
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
	if pb, ok := c.(PoolerBudget); ok {
		pl := pb.PoolerLimits(ctx)
		switch {
		case pl.Limits != nil:
			return pooledBudgetResult(b, *pl.Limits)
		case pl.ConsoleErr != nil && (pl.Pooler.Found() || errors.Is(pl.ConsoleErr, factory.ErrConsoleRefused)):
			return unknownPoolerResult(budgetResult(b), b, pl, p.user(), p.redact)
		}
	}
	return budgetResult(b)
}

// PoolerBudget is what the connection budget asks the read-only connection when it can: the
// limits of the PgBouncer between compozy and the server.
type PoolerBudget interface {
	// PoolerLimits says what sits between compozy and the server and, when PgBouncer's admin
	// console answers, its limits and their use now. It only reads.
	PoolerLimits(ctx context.Context) PoolerLimits
}

// PoolerLimits is what PoolerBudget found.
type PoolerLimits struct {
	// Pooler is what the open found between compozy and the server.
	Pooler factory.Pooler
	// Limits are PgBouncer's, when its admin console answered.
	Limits *factory.PgBouncerLimits
	// ConsoleErr is why the console did not answer; nil when it did, or when the server has no
	// "pgbouncer" database (a PostgreSQL server: nothing in between to ask).
	ConsoleErr error
}

var _ PoolerBudget = handleConn{}

// consoleShare is how much of the check's time the admin console may take at most, so that a
// console that does not answer leaves time to say so.
const consoleShare = 2 * time.Second

// PoolerLimits asks PgBouncer's admin console through the door, within half the check's time
// left and consoleShare at most. PGlite is not asked: it is no PgBouncer.
func (c handleConn) PoolerLimits(ctx context.Context) PoolerLimits {
	out := PoolerLimits{Pooler: c.h.Pooler}
	if out.Pooler.Kind == factory.PoolerPGlite {
		return out
	}
	limit := consoleShare
	if dl, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(dl)/2)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	l, err := c.h.PgBouncerLimits(ctx)
	switch {
	case err == nil:
		out.Limits = &l
	case !errors.Is(err, factory.ErrNotPgBouncer):
		out.ConsoleErr = err
	}
	return out
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
	if b.Replicas+b.Others > slots {
		// Not even one connection each fits: a smaller pool cannot help.
		fix.Text = fmt.Sprintf("%s need at least %d connections, one each, and %d other clients hold %d of the %d: raise max_connections (a server restart) or put PgBouncer in front", processes, b.Replicas, b.Others, b.Others, max(slots, 0))
	}
	if fit := (slots*4/5 - b.Others) / b.Replicas; fit >= 1 && fit < b.MaxOpen {
		fix.Text += fmt.Sprintf("; max_open_conns %d keeps %s within 80 %%", fit, processes)
	}
	switch {
	case slots <= 0 || need > slots:
		return doctor.Fail(msg, "at full load the server refuses connections: \"sorry, too many clients already\"", fix)
	case need*5 > slots*4:
		return doctor.Warn(msg, "above 80 % of the server's connections: little room for another process, a migration or psql", fix)
	}
	return doctor.Pass(msg)
}

// pooledBudgetResult judges the budget through PgBouncer, with the thresholds of budgetResult,
// twice. Its clients: replicas × max_open_conns plus the clients it has now, against
// max_client_conn. The server: PgBouncer opens at most pool_size + reserve_pool server
// connections for compozy's user and database however many clients it has, so that (not
// replicas × max_open_conns) plus the other clients' connections is weighed against the
// server's slots. The pool's own server connections are among the connections the server
// counts now: they are not counted twice.
func pooledBudgetResult(b budget, l factory.PgBouncerLimits) doctor.Result {
	name := l.Version
	if name == "" {
		name = "PgBouncer"
	}
	processes := "1 compozy process"
	if b.Replicas > 1 {
		processes = strconv.Itoa(b.Replicas) + " compozy processes"
	}

	// PgBouncer's clients.
	need := b.Replicas*b.MaxOpen + l.Clients
	pct := 0
	if l.MaxClientConn > 0 {
		pct = need * 100 / l.MaxClientConn
	}
	clients := budgetPart{msg: fmt.Sprintf("%s: %d × max_open_conns %d + %d other clients = %d of max_client_conn %d client connections: %d%%",
		name, b.Replicas, b.MaxOpen, l.Clients, need, l.MaxClientConn, pct)}
	lower := fmt.Sprintf(", or lower database.max_open_conns (each of the %s opens up to that many)", processes)
	if b.Replicas+l.Clients > l.MaxClientConn {
		lower = "" // not even one client each fits: a smaller pool cannot help
	}
	clientFix := "raise max_client_conn in pgbouncer.ini's [pgbouncer] section and reload PgBouncer (RELOAD; on its admin console; its open-file limit, ulimit -n, must allow that many clients plus the server connections)" + lower
	if want := (need*5 + 3) / 4; want > l.MaxClientConn {
		clientFix += fmt.Sprintf("; max_client_conn %d keeps %s within 80 %%", want, processes)
	}
	if fit := (l.MaxClientConn*4/5 - l.Clients) / b.Replicas; fit >= 1 && fit < b.MaxOpen {
		clientFix += fmt.Sprintf("; max_open_conns %d keeps %s within 80 %%", fit, processes)
	}
	switch {
	case need > l.MaxClientConn:
		clients.status, clients.detail, clients.fix = doctor.StatusFail, "at full load PgBouncer refuses clients: \"no more connections allowed (max_client_conn)\"", clientFix
	case need*5 > l.MaxClientConn*4:
		clients.status, clients.detail, clients.fix = doctor.StatusWarn, "above 80 % of PgBouncer's max_client_conn: little room for another process, a migration or psql", clientFix
	}

	// The server, behind PgBouncer's pool.
	slots := b.MaxConns - b.SuperReserved - b.Reserved
	others := max(b.Others-l.ServerConns, 0)
	serverCap := l.ServerCap()
	sneed := serverCap + others
	reserved := fmt.Sprintf("%d superuser_reserved_connections", b.SuperReserved)
	if b.Reserved > 0 {
		reserved += fmt.Sprintf(" - %d reserved_connections", b.Reserved)
	}
	pool := fmt.Sprintf("pool_size %d + reserve_pool %d", l.PoolSize, l.ReservePool)
	if l.MaxDBConnections > 0 {
		pool += fmt.Sprintf(", max_db_connections %d", l.MaxDBConnections)
	}
	if l.MaxUserConnections > 0 {
		pool += fmt.Sprintf(", max_user_connections %d", l.MaxUserConnections)
	}
	spct := 0
	if slots > 0 {
		spct = sneed * 100 / slots
	}
	server := budgetPart{msg: fmt.Sprintf("the server: PgBouncer's pool for user %s on database %s opens up to %d (%s) + %d held by other clients = %d of %d connections (max_connections %d - %s): %d%%",
		l.User, l.Database, serverCap, pool, others, sneed, slots, b.MaxConns, reserved, spct)}
	if slots <= 0 {
		server.msg = fmt.Sprintf("the server: max_connections %d - %s leaves no connection for PgBouncer's pool", b.MaxConns, reserved)
	}
	serverFix := fmt.Sprintf("lower default_pool_size in pgbouncer.ini (the server connections PgBouncer opens for each user and database; pool_size= on the database's line in [databases] overrides it; default_pool_size is %d), or cap the pool with max_db_connections, or raise the server's max_connections (a server restart)", l.DefaultPoolSize)
	if fit := slots*4/5 - others - l.ReservePool; fit >= 1 && fit < l.PoolSize {
		serverFix += fmt.Sprintf("; pool_size %d keeps the server within 80 %%", fit)
	}
	switch {
	case slots <= 0 || sneed > slots:
		server.status, server.detail, server.fix = doctor.StatusFail, "when PgBouncer's pool fills, the server refuses its connections: \"sorry, too many clients already\"", serverFix
	case sneed*5 > slots*4:
		server.status, server.detail, server.fix = doctor.StatusWarn, "PgBouncer's pool can take above 80 % of the server's connections: little room for another client, a migration or psql", serverFix
	}
	return joinParts(clients, server)
}

// budgetPart is one side of a budget judged through a pooler; status "" is a pass.
type budgetPart struct {
	status           doctor.Status
	msg, detail, fix string
}

// joinParts is one result of the parts: the worst status, the summaries joined with "; ",
// the details and fixes of the parts that did not pass.
func joinParts(parts ...budgetPart) doctor.Result {
	r := doctor.Result{Status: doctor.StatusPass}
	var msgs, details, fixes []string
	for _, p := range parts {
		msgs = append(msgs, p.msg)
		switch p.status {
		case doctor.StatusFail:
			r.Status = doctor.StatusFail
		case doctor.StatusWarn:
			if r.Status == doctor.StatusPass {
				r.Status = doctor.StatusWarn
			}
		default:
			continue
		}
		details, fixes = append(details, p.detail), append(fixes, p.fix)
	}
	r.Summary, r.Detail, r.Fix.Text = strings.Join(msgs, "; "), strings.Join(details, "; "), strings.Join(fixes, "; ")
	return r
}

// unknownPoolerResult is the server's budget (r, judged as if compozy's connections reached the
// server one for one) with what is not known about the pooler in between: PgBouncer whose
// admin console refused the user, a pooler that is not PgBouncer (a managed one sets its
// limits itself).
func unknownPoolerResult(r doctor.Result, b budget, pl PoolerLimits, user string, redact func(string) string) doctor.Result {
	part := budgetPart{status: doctor.StatusWarn}
	who := "the user"
	if user != "" {
		who = "user " + user
	}
	switch {
	case errors.Is(pl.ConsoleErr, factory.ErrConsoleRefused):
		part.msg = "PgBouncer's limits (max_client_conn, default_pool_size) are not known: its admin console refused " + who
		part.detail = redact(pl.ConsoleErr.Error())
		part.fix = fmt.Sprintf("add %s to stats_users in pgbouncer.ini (it may then only read SHOW CONFIG, POOLS and CLIENTS) and reload PgBouncer, so that doctor weighs %d × max_open_conns %d against max_client_conn", who, b.Replicas, b.MaxOpen)
	case pl.Pooler.Kind == factory.PoolerSupabase || pl.Pooler.Kind == factory.PoolerNeon:
		// The service sets the pooler's limits and shows them in its console: nothing to fix here.
		part = budgetPart{msg: pl.Pooler.Name() + " sets its own client and pool limits (see the service's console); not weighed here"}
	default:
		part.msg = pl.Pooler.Name() + "'s limits are not known: no PgBouncer admin console answered"
		part.detail = redact(pl.ConsoleErr.Error())
		part.fix = fmt.Sprintf("if it is PgBouncer, add %s to stats_users in pgbouncer.ini and reload it, so that doctor can read its limits; otherwise check its client limit against %d × max_open_conns %d and its pool size against the server's max_connections by hand", who, b.Replicas, b.MaxOpen)
	}
	server := budgetPart{status: r.Status, msg: r.Summary, detail: r.Detail, fix: r.Fix.Text}
	if r.Status == doctor.StatusPass {
		server.status = ""
	}
	return joinParts(server, part)
}
