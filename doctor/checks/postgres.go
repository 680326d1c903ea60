package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/shellquote"
)

// MinPostgresVersion is the oldest PostgreSQL major version Compozy's schema supports.
const MinPostgresVersion = 13

// pgProbe is what the PostgreSQL checks share: the settings, the network, and the read-only
// connection postgres.connect opens.
type pgProbe struct {
	cfg config.Database
	net Network
	src *source
	// tls is postgres.tls's diagnosis, whose fix postgres.connect gives for a TLS failure;
	// nil when there is none to ask.
	tls func(ctx context.Context) doctor.Result
}

// redact removes the password from s, wherever it appears.
func (p *pgProbe) redact(s string) string {
	s = config.Redact(s)
	if p.cfg.Password != "" {
		s = strings.ReplaceAll(s, p.cfg.Password, config.Redacted)
	}
	return s
}

// postgresChecks returns the postgres group. postgres.connect opens the read-only connection
// (after its own DNS and TCP steps); the others ask the server over it, settings by SHOW.
func (s *Set) postgresChecks() []doctor.Check {
	db := s.db
	p := &pgProbe{cfg: db, net: s.in.Net, src: s.src}
	if s.in.Certs != nil {
		p.tls = s.tlsRun
	}
	target := factory.Target(db)
	connect := check(doctor.IDPostgresConnect, func(ctx context.Context) doctor.Result {
		return p.connect(ctx, target)
	})
	query := func(id string, fn func(ctx context.Context, c PostgresConn) doctor.Result) doctor.Check {
		return check(id, func(ctx context.Context) doctor.Result {
			c, err := p.src.current()
			if err != nil {
				return doctor.Skip("skipped: not connected (postgres.connect did not pass)")
			}
			return fn(ctx, c)
		})
	}
	version := query(doctor.IDPostgresVersion, func(ctx context.Context, c PostgresConn) doctor.Result {
		numText, err := c.Show(ctx, "server_version_num")
		if err != nil {
			return doctor.Fail("cannot read the server version", p.redact(err.Error()), doctor.Fix{})
		}
		text, err := c.Show(ctx, "server_version")
		if err != nil {
			return doctor.Fail("cannot read the server version", p.redact(err.Error()), doctor.Fix{})
		}
		num, err := strconv.Atoi(strings.TrimSpace(numText))
		if err != nil {
			return doctor.Fail("cannot read the server version", fmt.Sprintf("server_version_num is %q", numText), doctor.Fix{})
		}
		if num/10000 < MinPostgresVersion {
			return doctor.Fail(fmt.Sprintf("PostgreSQL %s is too old; Compozy needs %d or newer", text, MinPostgresVersion), "",
				doctor.Fix{Text: "upgrade the server (15 or newer recommended)"})
		}
		return doctor.Pass("PostgreSQL " + text)
	})
	readOnly := query(doctor.IDPostgresReadOnly, func(ctx context.Context, c PostgresConn) doctor.Result {
		recovery, err := c.InRecovery(ctx)
		if err != nil {
			return doctor.Fail("cannot ask whether the server is a replica", p.redact(err.Error()), doctor.Fix{})
		}
		ro, err := c.Show(ctx, "default_transaction_read_only")
		if err != nil {
			return doctor.Fail("cannot ask whether the server is a replica", p.redact(err.Error()), doctor.Fix{})
		}
		switch {
		case recovery:
			return doctor.Fail("the server is a read-only replica (pg_is_in_recovery() is true)", "",
				doctor.Fix{Text: "point compozy at the primary server"})
		case ro == "on":
			return doctor.Fail("default_transaction_read_only is on for this database or role", "",
				doctor.Cmds("turn it off for compozy's role: run this SQL on "+target,
					psqlCmd(db, "", "ALTER ROLE "+pgIdent(p.user())+" SET default_transaction_read_only = off;")))
		}
		return doctor.Pass("primary, accepts writes")
	})
	privileges := query(doctor.IDPostgresPrivileges, func(ctx context.Context, c PostgresConn) doctor.Result {
		pv, err := c.Privileges(ctx)
		if err != nil {
			return doctor.Fail("cannot read privileges", p.redact(err.Error()), doctor.Fix{})
		}
		if pv.Schema == "" {
			return doctor.Fail("no schema of the search_path exists", "", doctor.Fix{Text: "create the schema or fix search_path"})
		}
		if pv.CanCreate {
			return doctor.Pass(fmt.Sprintf("role %s may create tables in schema %s", pv.Role, pv.Schema))
		}
		fix := doctor.Cmds("as the database owner or a superuser (PostgreSQL 15 removed CREATE on public from ordinary roles), run this SQL on "+target+
			" (the command connects as postgres; put the owner's name there if another)",
			psqlCmd(db, "postgres", fmt.Sprintf("GRANT CREATE ON SCHEMA %s TO %s;", pgIdent(pv.Schema), pgIdent(pv.Role))))
		msg := fmt.Sprintf("role %s may not create tables in schema %s", pv.Role, pv.Schema)
		if pv.Migrated {
			return doctor.Warn(msg+": migrations must be run by another role", "", fix)
		}
		return doctor.Fail(msg+": 'compozy migrate up' will fail with \"permission denied for schema\"", "", fix)
	})
	conns := query(doctor.IDPostgresConnections, func(ctx context.Context, c PostgresConn) doctor.Result {
		return p.budgetCheck(ctx, c, s.in.Replicas)
	})
	clock := query(doctor.IDPostgresClock, func(ctx context.Context, c PostgresConn) doctor.Result {
		before := time.Now()
		server, err := c.Clock(ctx)
		if err != nil {
			return doctor.Fail("cannot read the server clock", p.redact(err.Error()), doctor.Fix{})
		}
		after := time.Now()
		return clockResult(server.Sub(before.Add(after.Sub(before) / 2)))
	})
	latency := query(doctor.IDPostgresLatency, func(ctx context.Context, c PostgresConn) doctor.Result {
		var ds []time.Duration
		for range 5 {
			start := time.Now()
			if err := c.RoundTrip(ctx); err != nil {
				return doctor.Fail("SELECT 1 failed", p.redact(err.Error()), doctor.Fix{})
			}
			ds = append(ds, time.Since(start))
		}
		return latencyResult(ds)
	})
	return []doctor.Check{connect, version, readOnly, privileges, conns, clock, latency}
}

// clockResult judges the difference between the server's clock and this host's.
func clockResult(skew time.Duration) doctor.Result {
	abs := max(skew, -skew)
	msg := fmt.Sprintf("server clock differs by %s", skew.Round(time.Millisecond))
	fix := doctor.Fix{Text: "run NTP (chrony or systemd-timesyncd) on this host and the database server"}
	switch {
	case abs > 30*time.Second:
		return doctor.Fail(msg, "", fix)
	case abs > 2*time.Second:
		return doctor.Warn(msg, "", fix)
	}
	return doctor.Pass(msg)
}

// latencyResult judges the round trips of SELECT 1 by their median.
func latencyResult(ds []time.Duration) doctor.Result {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	med := ds[len(ds)/2]
	msg := fmt.Sprintf("median round trip %s over %d queries", med.Round(10*time.Microsecond), len(ds))
	switch {
	case med > 100*time.Millisecond:
		return doctor.Fail(msg, "every query of every workflow step pays this", doctor.Fix{Text: "run compozy close to the database"})
	case med > 20*time.Millisecond:
		return doctor.Warn(msg, "", doctor.Fix{Text: "run compozy close to the database"})
	}
	return doctor.Pass(msg)
}

// connect walks the connection steps one by one, so that a failure names its step: DNS, TCP,
// then PostgreSQL's startup (TLS, authentication, database, role).
func (p *pgProbe) connect(ctx context.Context, target string) doctor.Result {
	cc, err := factory.PostgresConnSettings(p.cfg)
	if err != nil {
		if fp, ok := badTLSFile(p.cfg); ok {
			return doctor.Fail(fp.Summary, p.redact(err.Error()), doctor.Fix{Text: fp.Fix})
		}
		return doctor.Fail("the connection settings do not parse", p.redact(err.Error()), doctor.Fix{Text: "check database.conn_string or host/port/user/name"})
	}
	host, port := cc.Host, strconv.Itoa(cc.Port)
	where := net.JoinHostPort(host, port)
	if strings.HasPrefix(host, "/") {
		where = host + "/.s.PGSQL." + port
	} else {
		// Each network step gets database.connect_timeout, and ends a little before the check's
		// own deadline, so that the result can still name the host that did not answer.
		limit := stepLimit(ctx, cc.ConnectTimeout)
		if net.ParseIP(host) == nil {
			lctx, cancel := context.WithTimeout(ctx, limit)
			err := p.net.LookupHost(lctx, host)
			timedOut := lctx.Err() != nil // before cancel, which sets it too
			cancel()
			if err != nil {
				if timedOut {
					return doctor.Fail("DNS: no answer for host "+host+" within "+limit.String(), err.Error(),
						doctor.Fix{Text: "check this machine's DNS servers (/etc/resolv.conf), or use an IP address"})
				}
				return doctor.Fail("DNS: cannot resolve host "+host, err.Error(),
					doctor.Fix{Text: "check database.host (or the host in conn_string) and this machine's DNS"})
			}
		}
		if err := p.net.Dial(ctx, where, limit); err != nil {
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				return doctor.Fail("TCP: connection refused at "+where, "nothing listens on that port",
					doctor.Fix{Text: "start PostgreSQL, or fix database.port / database.host (listen_addresses in postgresql.conf)"})
			case ctx.Err() != nil || isTimeout(err):
				return doctor.Fail("TCP: no answer from "+where+" within "+limit.String(), err.Error(),
					doctor.Fix{Text: "a firewall drops the packets, the server is down, or the host is wrong (database.connect_timeout bounds the wait)"})
			}
			return doctor.Fail("TCP: cannot connect to "+where, err.Error(), doctor.Fix{Text: "check the host and port"})
		}
	}
	if _, err := p.src.get(ctx); err != nil {
		if ctx.Err() != nil || pgconn.Timeout(err) {
			return doctor.Fail("PostgreSQL startup: no answer from "+where+" (TCP connected, but the server never replied)", p.redact(err.Error()),
				doctor.Fix{Text: "something that is not PostgreSQL listens on that port, or the server is overloaded"})
		}
		r := p.classify(err, where)
		if tlsFailure(err) && p.tls != nil {
			// postgres.tls reads the certificate and has the precise diagnosis: the same fix.
			if t := p.tls(ctx); (t.Status == doctor.StatusFail || t.Status == doctor.StatusWarn) && !t.Fix.IsZero() {
				r.Fix = t.Fix
				r.Fix.Text = "as postgres.tls finds (" + t.Summary + "): " + t.Fix.Text
			}
		}
		return r
	}
	return doctor.Pass(fmt.Sprintf("connected to %s as %s", target, cc.User))
}

// classify names the step of a failed PostgreSQL startup. An authentication failure says where
// the password came from (the one door adds it to the error).
func (p *pgProbe) classify(err error, where string) doctor.Result {
	msg := p.redact(err.Error())
	origin := factory.PasswordOrigin(err)
	withOrigin := func(s string) string {
		if origin == "" {
			return s
		}
		return s + " (" + origin + ")"
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "28P01":
			return doctor.Fail(withOrigin("authentication: password authentication failed for user "+p.user()), msg,
				doctor.Fix{Text: p.passwordFix()})
		case pgErr.Code == "3D000":
			return doctor.Fail("database: "+pgErr.Message, msg,
				doctor.Cmds("create it, or fix database.name", "createdb -h HOST -U OWNER "+shellquote.Quote(p.cfg.Name)))
		case pgErr.Code == "28000" && strings.Contains(pgErr.Message, "role") && strings.Contains(pgErr.Message, "does not exist"):
			return doctor.Fail("role: "+pgErr.Message, msg,
				doctor.Cmds("create the role as a superuser (the command connects as postgres; put your password for the new role in place of ...), or fix database.user",
					psqlCmd(p.cfg, "postgres", "CREATE ROLE "+pgIdent(p.user())+" LOGIN PASSWORD '...';")))
		case pgErr.Code == "28000" && strings.Contains(pgErr.Message, "no encryption"):
			return doctor.Fail("TLS: the server requires an encrypted connection", msg,
				doctor.Fix{Text: p.tlsFix("set database.ssl_mode: require (or verify-full)")})
		case pgErr.Code == "28000":
			return doctor.Fail(withOrigin("authentication: "+pgErr.Message), msg,
				doctor.Fix{Text: "add a pg_hba.conf rule for this user, database and address, or connect as another user"})
		case pgErr.Code == "53300":
			return doctor.Fail("the server has no free connection slots", msg, doctor.Fix{Text: "see postgres.connections"})
		}
		return doctor.Fail("PostgreSQL refused the connection: "+pgErr.Message, msg, doctor.Fix{})
	}
	switch {
	case tlsFailure(err):
		return doctor.Fail("TLS: "+lastPart(msg), msg,
			doctor.Fix{Text: "see postgres.tls: it reads the server's certificate and names the exact fix"})
	case errors.Is(err, syscall.ECONNREFUSED):
		return doctor.Fail("TCP: connection refused at "+where, msg, doctor.Fix{Text: "start PostgreSQL or fix the port"})
	}
	return doctor.Fail("cannot connect: "+lastPart(msg), msg, doctor.Fix{})
}

// pgxTLSRefused is the whole text of pgx's error when the server answers TLS with "no"; pgx
// gives it no type or code (pgconn's startTLS), so it is matched whole, and only in the chain's
// own errors, never in a message that also names the user and database.
const pgxTLSRefused = "server refused TLS connection"

// tlsFailure reports whether err is a failed TLS negotiation: the server refused TLS, answered
// with something that is not TLS, sent a TLS alert, or showed a certificate that did not
// verify.
func tlsFailure(err error) bool {
	var (
		header  tls.RecordHeaderError
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		op      *net.OpError
	)
	switch {
	case errors.As(err, &header), errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return true
	case errors.As(err, &op) && op.Op == "remote error": // crypto/tls reports the server's alert so
		return true
	}
	return inChain(err, func(e error) bool { return e.Error() == pgxTLSRefused })
}

// inChain reports whether f holds for err or any error it wraps, joined errors included.
func inChain(err error, f func(error) bool) bool {
	for err != nil {
		if f(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			return slices.ContainsFunc(u.Unwrap(), func(e error) bool { return inChain(e, f) })
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return false
		}
	}
	return false
}

// passwordFix says where to correct a password the server refused: the place it came from.
func (p *pgProbe) passwordFix() string {
	const hba = "; check pg_hba.conf's method for this user"
	from := p.cfg.PasswordSource
	switch {
	case from == "":
		return "give the password: set COMPOZY_DB_PASSWORD (or COMPOZY_DB_PASSWORD_FILE, or pipe it to --db-password-stdin)" + hba
	case p.cfg.ConnStringPasswordFrom != "":
		return "correct the password in the conn_string (" + p.cfg.ConnStringPasswordFrom +
			"), or set it apart with a higher layer (COMPOZY_DB_PASSWORD beats the file, --db-password-stdin beats both)" + hba
	}
	return "correct the password in " + from + "; the order is file < environment < flags and --db-password-stdin (the higher wins)" + hba
}

func (p *pgProbe) user() string {
	if cs, err := factory.PostgresConnSettings(p.cfg); err == nil {
		return cs.User
	}
	return p.cfg.User
}

func lastPart(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

// stepLimit is how long one network step of a check may take: database.connect_timeout, but
// never past nine tenths of the time the check has left.
func stepLimit(ctx context.Context, connectTimeout time.Duration) time.Duration {
	limit := connectTimeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) * 9 / 10
		if limit <= 0 || left < limit {
			limit = max(left, time.Millisecond)
		}
	}
	if limit <= 0 {
		limit = 30 * time.Second
	}
	return limit.Round(time.Millisecond)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func pgIdent(s string) string {
	if s == "" {
		return "ROLE"
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
