package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolConfig turns opts into a pgxpool configuration without connecting. It is exported so
// that callers (and tests) can see exactly what Open would use.
func PoolConfig(opts Options) (*pgxpool.Config, error) {
	dsn := opts.ConnString
	if dsn == "" {
		dsn = keywordValueDSN(opts)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres connection settings: %s", safeParseMessage(err, opts.Password))
	}
	if opts.Password != "" {
		cfg.ConnConfig.Password = opts.Password
	}
	if opts.MaxConns < 0 || opts.MinIdleConns < 0 {
		return nil, fmt.Errorf("postgres pool: max conns %d and min idle conns %d must not be negative", opts.MaxConns, opts.MinIdleConns)
	}
	// A setting written in the connection string itself wins over the config's value for it.
	sets := func(key string) bool { return connStringSets(opts.ConnString, key) }
	if opts.MaxConns > 0 && !sets("pool_max_conns") {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MinIdleConns > 0 && !sets("pool_min_idle_conns") {
		cfg.MinIdleConns = min(opts.MinIdleConns, cfg.MaxConns)
	}
	if opts.ConnMaxLifetime > 0 && !sets("pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = opts.ConnMaxLifetime
	}
	if opts.ConnMaxIdleTime > 0 && !sets("pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = opts.ConnMaxIdleTime
	}
	if opts.ConnectTimeout > 0 && !sets("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	// pgx looks the host name up with the caller's context, before ConnectTimeout starts: bound
	// the lookup by the same limit, so that a DNS server that does not answer is not waited on
	// forever either.
	if limit := cfg.ConnConfig.ConnectTimeout; limit > 0 {
		lookup := cfg.ConnConfig.LookupFunc
		cfg.ConnConfig.LookupFunc = func(ctx context.Context, host string) ([]string, error) {
			ctx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			return lookup(ctx, host)
		}
	}
	return cfg, nil
}

// connStringSets reports whether the connection string cs (a URL or keyword/value pairs) names
// the setting key.
func connStringSets(cs, key string) bool {
	if cs == "" {
		return false
	}
	if strings.Contains(cs, "://") {
		u, err := url.Parse(cs)
		return err == nil && u.Query().Has(key)
	}
	for _, field := range strings.Fields(cs) {
		if k, _, ok := strings.Cut(field, "="); ok && strings.TrimSpace(k) == key {
			return true
		}
	}
	return false
}

// DSN is the connection string opts describe, for clients other than the pool (pgvector, pg_dump
// wrappers): ConnString as written, with a separately given Password added so that it wins;
// or, without ConnString, keyword/value pairs of the fields (connect_timeout included), every
// value single-quoted with \ and ' escaped by a backslash, which libpq and pgx read back
// verbatim, so that any password works.
func DSN(opts Options) string {
	if opts.ConnString == "" {
		return keywordValueDSN(opts)
	}
	if opts.Password == "" {
		return opts.ConnString
	}
	if strings.Contains(opts.ConnString, "://") {
		sep := "?"
		if strings.Contains(opts.ConnString, "?") {
			sep = "&"
		}
		// A later password parameter wins over the URL's user info in pgx. pgx unescapes
		// parameters as paths do, so a space must be %20, not +.
		return opts.ConnString + sep + "password=" + strings.ReplaceAll(url.QueryEscape(opts.Password), "+", "%20")
	}
	return opts.ConnString + " password=" + QuoteValue(opts.Password)
}

// keywordValueDSN assembles the fields into a keyword/value string.
func keywordValueDSN(o Options) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+QuoteValue(v))
		}
	}
	add("host", o.Host)
	if o.Port != 0 {
		add("port", strconv.Itoa(o.Port))
	}
	add("user", o.User)
	add("password", o.Password)
	add("dbname", o.Name)
	add("sslmode", o.SSLMode)
	if o.ConnectTimeout > 0 {
		add("connect_timeout", strconv.Itoa(max(1, int(o.ConnectTimeout.Seconds()))))
	}
	return strings.Join(parts, " ")
}

// QuoteValue quotes a value for a keyword/value connection string: single quotes, with \ and '
// escaped by a backslash, which libpq and pgx read back verbatim.
func QuoteValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// safeParseMessage is pgx's reason for rejecting a connection string, without the string
// itself. The underlying error is kept only where it cannot quote the string (a url.Error quotes
// the whole URL, password included) and does not contain the known password.
func safeParseMessage(err error, password string) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return "invalid connection settings"
	}
	saved := pe.ConnString
	pe.ConnString = ""
	msg := pe.Error()
	pe.ConnString = saved
	msg = strings.TrimPrefix(msg, "cannot parse ``: ")
	if inner := errors.Unwrap(pe); inner != nil {
		reason := strings.TrimSuffix(msg, " ("+inner.Error()+")")
		leaky := strings.HasPrefix(reason, "failed to parse as") ||
			(password != "" && strings.Contains(inner.Error(), password))
		if leaky {
			msg = reason
		}
	}
	if msg == "" || (password != "" && strings.Contains(msg, password)) {
		return "invalid connection settings"
	}
	return msg
}

// Target returns the server opts point at as a URL with the password replaced by [redacted],
// for example postgres://app:[redacted]@db:5432/compozy?sslmode=disable, without connecting.
// Settings that do not parse give "postgres (invalid connection settings)".
func Target(opts Options) string {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return "postgres (invalid connection settings)"
	}
	return redactedFromConfig(cfg, opts)
}

func redactedFromConfig(cfg *pgxpool.Config, opts Options) string {
	cc := cfg.ConnConfig
	var b strings.Builder
	b.WriteString("postgres://")
	if cc.User != "" {
		b.WriteString(url.User(cc.User).String())
		if cc.Password != "" {
			b.WriteString(":[redacted]")
		}
		b.WriteString("@")
	}
	var query []string
	if strings.HasPrefix(cc.Host, "/") {
		query = append(query, "host="+cc.Host)
	} else if cc.Host != "" {
		host := cc.Host
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		b.WriteString(host + ":" + strconv.Itoa(int(cc.Port)))
	}
	b.WriteString("/" + url.PathEscape(cc.Database))
	query = append(query, "sslmode="+sslMode(opts))
	// Where the tables are and which other servers are tried are part of which database it is.
	if sp := cc.RuntimeParams["search_path"]; sp != "" {
		query = append(query, "search_path="+url.QueryEscape(sp))
	}
	for _, fb := range cc.Fallbacks {
		if fb.Host != cc.Host || fb.Port != cc.Port {
			query = append(query, "fallback="+url.QueryEscape(net.JoinHostPort(fb.Host, strconv.Itoa(int(fb.Port)))))
		}
	}
	b.WriteString("?" + strings.Join(query, "&"))
	return b.String()
}

// SSLModeSetting is the sslmode opts name explicitly (in conn_string or ssl_mode), or "" when
// they leave it to libpq's default.
func SSLModeSetting(opts Options) string {
	if opts.ConnString == "" {
		return opts.SSLMode
	}
	return connStringSetting(opts.ConnString, "sslmode")
}

// sslMode is the sslmode in effect: explicit in the settings, else PGSSLMODE, else libpq's
// default "prefer".
func sslMode(opts Options) string {
	if opts.ConnString == "" && opts.SSLMode != "" {
		return opts.SSLMode
	}
	if opts.ConnString != "" {
		if v := connStringSetting(opts.ConnString, "sslmode"); v != "" {
			return v
		}
	}
	if v := os.Getenv("PGSSLMODE"); v != "" {
		return v
	}
	return "prefer"
}

// connStringSetting returns one setting of a URL or keyword/value connection string, or "". As
// in libpq, a later setting of the same keyword wins.
func connStringSetting(s, key string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		return u.Query().Get(key)
	}
	return keywordValuePairs(s)[key]
}

// ConnStringParams returns every setting the connection string cs names, by libpq keyword
// ("dbname", not pgx's "database"), with its value decoded: a URL's user, password, host and
// port lists (comma-separated, as libpq keeps them), database and query parameters (percent-
// decoded as libpq does, where "+" stays "+"; ssl=true is sslmode=require), or a keyword/value
// string's pairs (quotes and backslashes undone). A later setting wins, as in libpq. It reads
// no environment and no file: it says what the configuration itself decides.
func ConnStringParams(cs string) (map[string]string, error) {
	out := map[string]string{}
	if cs == "" {
		return out, nil
	}
	rest, isURL := strings.CutPrefix(cs, "postgresql://")
	if !isURL {
		rest, isURL = strings.CutPrefix(cs, "postgres://")
	}
	if !isURL {
		for k, v := range keywordValuePairs(cs) {
			if k == "database" {
				k = "dbname"
			}
			out[k] = v
		}
		return out, nil
	}
	dec := func(s string) (string, error) {
		v, err := url.PathUnescape(s)
		if err != nil {
			return "", errors.New("parse postgres connection settings: invalid percent-encoding")
		}
		return v, nil
	}
	// The user info ends at the first "@" before any "/", as in libpq.
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		user, pw, hasPW := strings.Cut(rest[:i], ":")
		rest = rest[i+1:]
		if user != "" {
			v, err := dec(user)
			if err != nil {
				return nil, err
			}
			out["user"] = v
		}
		if hasPW && pw != "" {
			v, err := dec(pw)
			if err != nil {
				return nil, err
			}
			out["password"] = v
		}
	}
	netloc, query, _ := strings.Cut(rest, "?")
	netloc, path, _ := strings.Cut(netloc, "/")
	if netloc != "" {
		var hosts, ports []string
		anyPort := false
		for _, hp := range strings.Split(netloc, ",") {
			host, port := hp, ""
			if strings.HasPrefix(hp, "[") {
				if end := strings.IndexByte(hp, ']'); end > 0 {
					host, port = hp[1:end], strings.TrimPrefix(hp[end+1:], ":")
				}
			} else if h, p, ok := strings.Cut(hp, ":"); ok {
				host, port = h, p
			}
			h, err := dec(host)
			if err != nil {
				return nil, err
			}
			hosts, ports = append(hosts, h), append(ports, port)
			anyPort = anyPort || port != ""
		}
		out["host"] = strings.Join(hosts, ",")
		if anyPort {
			out["port"] = strings.Join(ports, ",")
		}
	}
	if path != "" {
		v, err := dec(path)
		if err != nil {
			return nil, err
		}
		out["dbname"] = v
	}
	sslAlias := false
	for _, pair := range strings.Split(query, "&") {
		if pair == "" {
			continue
		}
		rk, rv, _ := strings.Cut(pair, "=")
		k, err := dec(rk)
		if err != nil {
			return nil, err
		}
		v, err := dec(rv)
		if err != nil {
			return nil, err
		}
		switch k {
		case "database":
			k = "dbname"
		case "ssl":
			if v == "true" {
				sslAlias = true
				continue
			}
		case "sslmode":
			sslAlias = false
		}
		out[k] = v
	}
	if sslAlias {
		out["sslmode"] = "require"
	}
	return out, nil
}

// keywordValuePairs parses a keyword/value connection string: values single-quoted or bare,
// a backslash taking the next character literally. A later setting wins.
func keywordValuePairs(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\n\r\v\f")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return out
		}
		k := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r\v\f")
		var v strings.Builder
		quoted := strings.HasPrefix(s, "'")
		if quoted {
			s = s[1:]
		}
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				v.WriteByte(s[i])
				continue
			}
			if (quoted && c == '\'') || (!quoted && strings.IndexByte(" \t\n\r\v\f", c) >= 0) {
				break
			}
			v.WriteByte(c)
		}
		if i < len(s) {
			i++
		}
		s = s[i:]
		if k != "" {
			out[k] = v.String()
		}
	}
	return out
}
