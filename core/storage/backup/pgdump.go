package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/internal/shellquote"
)

// PgDump is a pg_dump invocation: the arguments and the environment that carries the
// connection, password included. Args never hold a secret.
type PgDump struct {
	// Args are pg_dump's arguments (without the program name).
	Args []string
	// Env are the PG* variables of the connection, as the configuration decides it: PGHOST and
	// PGPORT (every server, comma-separated, in the order they are tried), PGUSER, PGDATABASE,
	// PGSSLMODE, PGCONNECT_TIMEOUT, one variable per libpq setting conn_string names
	// (PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, PGSSLCRL, PGTARGETSESSIONATTRS, PGAPPNAME...),
	// PGOPTIONS for its run-time parameters (search_path...) and, when there is one,
	// PGPASSWORD. Run passes the caller's own PG* variables only for what the configuration
	// leaves open (see childEnv).
	Env []string
	// Output is the dump file.
	Output string

	// hosts are the servers' hosts as configured and servers the host:port (or socket) of each,
	// for the look-up and the message when no server answers; connectTimeout is the limit
	// pg_dump was given, configured the configured one.
	hosts, servers             []string
	connectTimeout, configured time.Duration
	// unsupported names a setting pg_dump cannot be given without its command line.
	unsupported string
	// resolver looks host names up for resolveInTime; nil is net.DefaultResolver (a test
	// points it at a silent DNS server).
	resolver *net.Resolver
}

// libpqEnv maps libpq's connection keywords to the environment variables libpq reads them
// from. host, port, user, dbname, password, sslmode and connect_timeout are set apart.
var libpqEnv = map[string]string{
	"passfile":                 "PGPASSFILE",
	"service":                  "PGSERVICE",
	"servicefile":              "PGSERVICEFILE",
	"require_auth":             "PGREQUIREAUTH",
	"channel_binding":          "PGCHANNELBINDING",
	"sslnegotiation":           "PGSSLNEGOTIATION",
	"sslcert":                  "PGSSLCERT",
	"sslkey":                   "PGSSLKEY",
	"sslcertmode":              "PGSSLCERTMODE",
	"sslrootcert":              "PGSSLROOTCERT",
	"sslcrl":                   "PGSSLCRL",
	"sslcrldir":                "PGSSLCRLDIR",
	"sslsni":                   "PGSSLSNI",
	"sslcompression":           "PGSSLCOMPRESSION",
	"requiressl":               "PGREQUIRESSL",
	"requirepeer":              "PGREQUIREPEER",
	"ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
	"ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
	"min_protocol_version":     "PGMINPROTOCOLVERSION",
	"max_protocol_version":     "PGMAXPROTOCOLVERSION",
	"gssencmode":               "PGGSSENCMODE",
	"krbsrvname":               "PGKRBSRVNAME",
	"gsslib":                   "PGGSSLIB",
	"gssdelegation":            "PGGSSDELEGATION",
	"target_session_attrs":     "PGTARGETSESSIONATTRS",
	"load_balance_hosts":       "PGLOADBALANCEHOSTS",
	"application_name":         "PGAPPNAME",
	"client_encoding":          "PGCLIENTENCODING",
}

// libpqNoEnv are libpq keywords that no environment variable carries; they tune how a
// connection is kept (or, hostaddr, which address a host has), not which server, database or
// role it reaches, and pg_dump goes without them.
var libpqNoEnv = []string{"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
	"tcp_user_timeout", "fallback_application_name", "hostaddr", "replication"}

// configDecides are the PG* variables of the caller's environment that never reach pg_dump:
// which server, database and role to dump, and the password, are the configuration's. A
// service (PGSERVICE) is among them: libpq lets a service file's settings beat PGHOST and the
// others, so the user's would lead pg_dump to the service's server.
var configDecides = []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE"}

// NewPgDump builds the pg_dump invocation that dumps the PostgreSQL database db to output, in
// pg_dump's custom format (restore with pg_restore), with the whole connection the one door
// would use: every host, the TLS files, target_session_attrs, run-time parameters. The
// connection has the configured connect_timeout, so pg_dump never waits on a server that does
// not answer.
func NewPgDump(db config.Database, output string) (*PgDump, error) {
	cs, err := factory.PostgresConnSettings(db)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	p := &PgDump{
		Args:       []string{"--format=custom", "--no-password", "--file=" + output},
		Output:     output,
		configured: cs.ConnectTimeout,
	}
	ports := make([]string, len(cs.Hosts))
	for i, h := range cs.Hosts {
		ports[i] = strconv.Itoa(cs.Ports[i])
		p.hosts = append(p.hosts, h)
		if strings.HasPrefix(h, "/") {
			p.servers = append(p.servers, filepath.Join(h, ".s.PGSQL."+ports[i]))
		} else {
			p.servers = append(p.servers, net.JoinHostPort(h, ports[i]))
		}
	}
	env := []string{
		"PGHOST=" + strings.Join(cs.Hosts, ","),
		"PGPORT=" + strings.Join(ports, ","),
		"PGUSER=" + cs.User,
		"PGDATABASE=" + cs.Database,
	}
	if cs.SSLMode != "" {
		env = append(env, "PGSSLMODE="+cs.SSLMode)
	}
	if cs.ConnectTimeout > 0 {
		// libpq takes whole seconds and treats anything below 2 as 2.
		secs := max(2, int((cs.ConnectTimeout+time.Second-1)/time.Second))
		p.connectTimeout = time.Duration(secs) * time.Second
		env = append(env, "PGCONNECT_TIMEOUT="+strconv.Itoa(secs))
	}
	// The other settings conn_string names: a libpq setting goes in its variable; anything
	// else is a run-time parameter of the server (pgx sends it at connect), which libpq takes
	// in PGOPTIONS as -c NAME=VALUE, after the options the settings (or, when they name none,
	// the caller's PGOPTIONS, which pgx reads too) give.
	options := os.Getenv("PGOPTIONS")
	var runtime []string
	for _, k := range slices.Sorted(maps.Keys(cs.Params)) {
		v := cs.Params[k]
		switch {
		case k == "options":
			options = v
		case libpqEnv[k] != "":
			env = append(env, libpqEnv[k]+"="+v)
		case slices.Contains(libpqNoEnv, k):
		default:
			runtime = append(runtime, "-c "+optionEscape(k+"="+v))
		}
	}
	if _, named := cs.Params["options"]; named || len(runtime) > 0 {
		env = append(env, "PGOPTIONS="+strings.TrimSpace(options+" "+strings.Join(runtime, " ")))
	}
	if cs.Password != "" {
		env = append(env, "PGPASSWORD="+cs.Password)
	}
	if cs.SSLPassword != "" {
		p.unsupported = "sslpassword"
	}
	p.Env = env
	return p, nil
}

// optionEscape escapes one argument of PGOPTIONS: the server splits the options at white
// space, and a backslash takes the next character literally.
func optionEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Command is the shell command a user can run by hand, with the password replaced by a
// placeholder: PGHOST=... PGPASSWORD='<password>' pg_dump --format=custom ....
func (p *PgDump) Command() string {
	var parts []string
	for _, e := range p.Env {
		k, v, _ := strings.Cut(e, "=")
		if k == "PGPASSWORD" {
			parts = append(parts, "PGPASSWORD='<password>'")
			continue
		}
		parts = append(parts, k+"="+shellquote.Quote(v))
	}
	parts = append(parts, "pg_dump")
	for _, a := range p.Args {
		parts = append(parts, shellquote.Quote(a))
	}
	return strings.Join(parts, " ")
}

// ErrPgDumpMissing is returned by Run when pg_dump is not installed.
var ErrPgDumpMissing = errors.New("pg_dump is not installed")

// Run runs pg_dump (found on PATH) into a temporary file beside Output, checks what it wrote,
// and gives it Output's name (which must be free). The error carries pg_dump's standard error,
// which holds no password.
func (p *PgDump) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		return nil, ErrPgDumpMissing
	}
	if _, err := os.Lstat(p.Output); err == nil {
		return nil, fmt.Errorf("backup: %s already exists; choose another --to", p.Output)
	}
	if p.unsupported != "" {
		return nil, fmt.Errorf("backup: the connection settings name %s, which pg_dump could only be given on its command line (libpq reads it from no environment variable), where other users would see it; give pg_dump a client key without a passphrase, or run the command 'compozy db backup' prints without pg_dump installed and type the passphrase when asked", p.unsupported)
	}
	if err := p.resolveInTime(ctx); err != nil {
		return nil, err
	}
	_, _ = atomicfile.Sweep(filepath.Dir(p.Output), func(string) bool { return true })
	pending, err := atomicfile.Create(p.Output, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: target %w", err)
	}
	defer pending.Abort()
	args := slices.Clone(p.Args)
	for i, a := range args {
		if strings.HasPrefix(a, "--file=") {
			args[i] = "--file=" + pending.Path
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	dieWithUs(cmd)
	// The kernel sends Pdeathsig when the thread that started pg_dump ends, not the process:
	// keep this goroutine on its thread until pg_dump has ended.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// libpq's messages in English, so that a server that did not answer is recognised below.
	cmd.Env = append(childEnv(os.Environ(), p.Env), "LC_MESSAGES=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		if strings.Contains(msg, "timeout expired") {
			// libpq's connect_timeout ran out: say which server did not answer, and the limit.
			limit := ""
			switch {
			case p.connectTimeout > 0 && p.connectTimeout == p.configured:
				limit = " within " + p.connectTimeout.String() + " (database.connect_timeout)"
			case p.connectTimeout > 0:
				limit = " within " + p.connectTimeout.String() + " (database.connect_timeout " + p.configured.String() +
					", which libpq rounds up to whole seconds, at least 2)"
			}
			return nil, fmt.Errorf("backup: pg_dump got no answer from %s%s: %s", strings.Join(p.silent(msg), ", "), limit, msg)
		}
		return nil, fmt.Errorf("backup: pg_dump failed: %s", msg)
	}
	st, err := os.Stat(pending.Path)
	if err != nil {
		return nil, fmt.Errorf("backup: stat the dump: %w", err)
	}
	if st.Size() == 0 {
		return nil, errors.New("backup: pg_dump wrote an empty dump")
	}
	if err := pending.CommitNew(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &Result{Path: pending.Final(), Bytes: st.Size(), Duration: time.Since(start)}, nil
}

// resolveInTime bounds the one step of pg_dump's connection that PGCONNECT_TIMEOUT does not:
// libpq looks the host name up before its timer starts, so a DNS server that does not answer
// would hold pg_dump for as long as the resolver retries. The name is looked up here first,
// within the configured connect_timeout; only a lookup that runs out of time stops the backup
// (any other answer is left to pg_dump, whose resolver may know names this one does not).
func (p *PgDump) resolveInTime(ctx context.Context) error {
	if p.configured <= 0 {
		return nil
	}
	resolver := p.resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	for _, host := range p.hosts {
		if host == "" || strings.HasPrefix(host, "/") || net.ParseIP(host) != nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, p.configured)
		_, err := resolver.LookupHost(lctx, host)
		timedOut := lctx.Err() != nil
		cancel()
		var dnsErr *net.DNSError
		if err != nil && (timedOut || (errors.As(err, &dnsErr) && dnsErr.IsTimeout)) {
			if ctx.Err() != nil {
				return fmt.Errorf("backup: %w", ctx.Err())
			}
			return fmt.Errorf("backup: no answer from DNS for %s within %s (database.connect_timeout); check this machine's DNS, or give database.host as an address",
				host, p.configured)
		}
	}
	return nil
}

// timedOutServer is one line of libpq's message for a server that did not answer in time:
// `connection to server at "db" (10.0.0.5), port 5432 failed: timeout expired`, or on a socket.
var timedOutServer = regexp.MustCompile(`connection to server (?:at "([^"]*)"(?: \([^)]*\))?, port (\d+)|on socket "([^"]*)") failed: timeout expired`)

// silent names the servers libpq's message msg says did not answer in time, as host:port the
// way the settings spell the host (or the socket); every server when the message names none.
func (p *PgDump) silent(msg string) []string {
	var out []string
	for _, m := range timedOutServer.FindAllStringSubmatch(msg, -1) {
		name := m[3]
		if name == "" {
			name = net.JoinHostPort(m[1], m[2])
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return p.servers
	}
	return out
}

// childEnv is pg_dump's environment: the caller's, without the PG* variables the
// configuration decides (own, and always the server, database, role and password: see
// configDecides), and without LC_ALL and LANGUAGE, which would override LC_MESSAGES; then own.
// A PG* variable for a setting the configuration leaves open (PGSSLROOTCERT, PGSERVICEFILE,
// PGAPPNAME...) passes, as pgx reads it for every other command.
func childEnv(env, own []string) []string {
	out := env[:0:0]
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		if k == "LC_ALL" || k == "LANGUAGE" || slices.Contains(configDecides, k) ||
			slices.ContainsFunc(own, func(o string) bool { return strings.HasPrefix(o, k+"=") }) {
			continue
		}
		out = append(out, e)
	}
	return append(out, own...)
}
