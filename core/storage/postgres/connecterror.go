package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ConnectError is err, a failed connection to target, with the server that did not answer
// named: "connect to postgres://...: no answer from db:5432 within 5s (database.connect_timeout)".
// With several hosts (host=a,b), the ones whose attempt ran out of time are named, not the
// first one written. It never holds the password (pgx's connect errors name the user and
// database only).
func ConnectError(target string, cc *pgx.ConnConfig, err error) error {
	if ae := authError(target, cc, err); ae != nil {
		return ae
	}
	if !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("connect to %s: %w", target, err)
	}
	where := strings.Join(silentServers(cc, err), ", ")
	limit := ""
	if cc.ConnectTimeout > 0 {
		limit = " within " + cc.ConnectTimeout.String() + " (database.connect_timeout)"
	}
	return &TimeoutError{Target: target, Where: where, Msg: "no answer from " + where + limit, Err: err}
}

// AuthError is a connection the server refused at authentication: SQLSTATE 28P01 (a wrong
// password) or 28000 (no pg_hba.conf rule, an unknown role). Its text is the server's message
// once, without the target, which the caller names ("open database TARGET: ..."), and with
// where the password came from: `password authentication failed for user "compozy"
// (password from COMPOZY_DB_PASSWORD)`.
type AuthError struct {
	Target string
	// Code is the SQLSTATE; Message the server's message (no password in it).
	Code, Message string
	// HadPassword reports whether a password was sent (from the settings, PGPASSWORD or the
	// password file).
	HadPassword bool
	// From says where the password came from, for people: "password from COMPOZY_DB_PASSWORD",
	// "no password was given". The one door fills it from the configuration.
	From string
	Err  error
}

func (e *AuthError) Error() string {
	msg := e.Message
	if e.From != "" {
		msg += " (" + e.From + ")"
	}
	if e.Target != "" {
		msg = "connect to " + e.Target + ": " + msg
	}
	return msg
}

func (e *AuthError) Unwrap() error { return e.Err }

// authError is err as an *AuthError when the server refused the connection at
// authentication, else nil.
func authError(target string, cc *pgx.ConnConfig, err error) *AuthError {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || (pe.Code != "28P01" && pe.Code != "28000") {
		return nil
	}
	ae := &AuthError{Target: target, Code: pe.Code, Message: pe.Message, HadPassword: cc != nil && cc.Password != "", Err: err}
	if !ae.HadPassword && ae.PasswordMatters() {
		ae.From = "no password was given"
	}
	return ae
}

// PasswordMatters reports whether the password may be why the server refused: not for a role
// that does not exist (28000), where naming the password's source would mislead.
func (e *AuthError) PasswordMatters() bool {
	return e.Code == "28P01" || !strings.Contains(e.Message, "does not exist")
}

// silentServers names, as HOST:PORT (or the socket) the way the settings spell the host, every
// server whose connection attempt in err ran out of time, and as "DNS for HOST" every host
// name whose lookup did; the first configured server when err does not tell them apart.
func silentServers(cc *pgx.ConnConfig, err error) []string {
	name := func(host, port string) string {
		if strings.HasPrefix(host, "/") {
			return host + "/.s.PGSQL." + port
		}
		return net.JoinHostPort(host, port)
	}
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if !pgconn.Timeout(e) && !errors.Is(e, context.DeadlineExceeded) {
			return
		}
		// One attempt reads "ADDRESS (HOST): reason": the address dialled (an IP and port, or
		// a socket) and the host as configured.
		addr, rest, ok := strings.Cut(e.Error(), " (")
		host, _, ok2 := strings.Cut(rest, "): ")
		if ok && ok2 && !strings.ContainsAny(addr, " ()") {
			port := strconv.Itoa(int(cc.Port))
			if _, p, err := net.SplitHostPort(addr); err == nil {
				port = p
			} else if i := strings.LastIndex(addr, ".s.PGSQL."); i >= 0 {
				port = addr[i+len(".s.PGSQL."):]
			}
			add(name(host, port))
			return
		}
		// A host name whose lookup ran out of time: the DNS did not answer, not the server.
		var dnsErr *net.DNSError
		if errors.As(e, &dnsErr) && dnsErr.Name != "" {
			add("DNS for " + dnsErr.Name)
			return
		}
		if u := errors.Unwrap(e); u != nil {
			walk(u)
		}
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		walk(ce.Unwrap())
	}
	if len(out) == 0 {
		out = []string{name(cc.Host, strconv.Itoa(int(cc.Port)))}
	}
	return out
}

// TimeoutError is a connection that got no answer in time.
type TimeoutError struct {
	Target string
	// Where is the host and port (or socket) that did not answer.
	Where string
	Msg   string
	Err   error
}

func (e *TimeoutError) Error() string { return "connect to " + e.Target + ": " + e.Msg }
func (e *TimeoutError) Unwrap() error { return e.Err }
