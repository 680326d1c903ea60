package checks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/managed"
	"compozy.dev/setup/doctor"
)

// CertSource reads the certificate a PostgreSQL server presents.
type CertSource interface {
	// ServerCertificates returns the certificates the server db names presents for TLS (its own
	// first), unverified, without logging in; factory.ErrNoTLS when it offers no TLS.
	ServerCertificates(ctx context.Context, db config.Database) ([]*x509.Certificate, error)
	// ServerCertFile returns the server's ssl_cert_file (absolute where the server says where
	// its data directory is), read over a login that accepts only the certificate leaf.
	ServerCertFile(ctx context.Context, db config.Database, leaf *x509.Certificate) (string, error)
}

// doorCerts is CertSource through the one door.
type doorCerts struct{}

func (doorCerts) ServerCertificates(ctx context.Context, db config.Database) ([]*x509.Certificate, error) {
	return factory.ServerCertificates(ctx, db)
}

func (doorCerts) ServerCertFile(ctx context.Context, db config.Database, leaf *x509.Certificate) (string, error) {
	return factory.ServerCertFile(ctx, db, leaf)
}

// CertExpiryWarning is how close to its expiry a server certificate makes postgres.tls warn.
const CertExpiryWarning = 30 * 24 * time.Hour

// tlsSettings are the settings postgres.tls judges.
type tlsSettings struct {
	// Host is the host compozy connects to; Mode the ssl_mode in effect; RootCert sslrootcert.
	Host, Mode, RootCert string
	// Local: the host is this machine (a Unix socket, localhost, a loopback address).
	Local bool
	// Settings are the connection settings, to print a conn_string with the fix in it.
	Settings factory.ConnSettings
	// ConnString is database.conn_string as the user wrote it ("" when the settings are
	// fields): a fix changes only the parameters it is about and keeps the others as written.
	ConnString string
	// ConnStringFrom is where ConnString came from: the fix says to change it there.
	ConnStringFrom config.Source
	// CertFile, when set, finds the file a local server reads its self-signed certificate leaf
	// from (its ssl_cert_file, readable here and holding leaf), or "": a fix names it as
	// sslrootcert.
	CertFile func(leaf *x509.Certificate) string
	// Service is the managed service the host shows (Amazon RDS, Cloud SQL, ...): the fixes
	// say what it expects of TLS. Zero when none.
	Service managed.Service
}

// fix is text followed by what the managed service of the host expects of TLS, if any.
func (st tlsSettings) fix(text string) string { return withServiceTLS(st.Service, text) }

// rootCertPath is the sslrootcert a fix's conn_string shows: Amazon RDS's CA bundle by its
// file name there, a placeholder elsewhere.
func (st tlsSettings) rootCertPath() string {
	if st.Service.Kind == managed.RDS {
		return "/path/to/global-bundle.pem"
	}
	return "/path/to/root.crt"
}

// tlsCheck is postgres.tls. It needs no login: it asks the server for TLS itself, so that it
// also explains a verify-full that postgres.connect could not pass.
func (s *Set) tlsCheck() doctor.Check {
	return check(doctor.IDPostgresTLS, s.tlsRun)
}

// tlsRun is postgres.tls's run; postgres.connect gives its fix for a TLS failure.
func (s *Set) tlsRun(ctx context.Context) doctor.Result {
	db := s.db
	cs, err := factory.PostgresConnSettings(db)
	if err != nil {
		if fp, ok := badTLSFile(db); ok {
			return doctor.Skip("skipped: " + fp.Summary + " (see postgres.connect)")
		}
		return doctor.Skip("skipped: the connection settings do not parse (see postgres.connect)")
	}
	st := tlsSettings{Host: cs.Host, Mode: cs.SSLMode, RootCert: cs.Params["sslrootcert"], Local: localHost(cs.Host), Settings: cs,
		Service: managed.FromHost(cs.Host), ConnString: db.ConnString, ConnStringFrom: s.connStringFrom}
	if st.Local {
		st.CertFile = func(leaf *x509.Certificate) string { return localCertFile(ctx, s.in.Certs, db, leaf) }
	}
	if st.Mode == "" {
		st.Mode = os.Getenv("PGSSLMODE")
	}
	if st.Mode == "" {
		st.Mode = "prefer"
	}
	var certs []*x509.Certificate
	var certErr error
	if st.Mode != "disable" && !strings.HasPrefix(st.Host, "/") {
		certs, certErr = s.in.Certs.ServerCertificates(ctx, db)
	}
	return tlsResult(st, certs, certErr, time.Now())
}

// localCertFile is the file a local server reads its certificate leaf from (SHOW ssl_cert_file),
// when that file is readable here and holds leaf; "" otherwise.
func localCertFile(ctx context.Context, certs CertSource, db config.Database, leaf *x509.Certificate) string {
	file, err := certs.ServerCertFile(ctx, db, leaf)
	if err != nil || !filepath.IsAbs(file) {
		return ""
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return ""
		}
		if b.Type == "CERTIFICATE" && bytes.Equal(b.Bytes, leaf.Raw) {
			return file
		}
	}
}

// tlsFileKeys are the conn_string settings that name a file the TLS setup reads.
var tlsFileKeys = []string{"sslrootcert", "sslcert", "sslkey", "sslcrl"}

// tlsFileProblem is what is wrong with a file conn_string names for TLS: the key that names
// it, the path, what is wrong (a summary) and the fix.
type tlsFileProblem struct{ Key, Path, Summary, Fix string }

// badTLSFile is the first problem with the files conn_string names for TLS (sslrootcert,
// sslcert, sslkey, sslcrl), in the order the connection reads them: one that cannot be read;
// an sslrootcert or sslcert that holds no PEM certificate; an sslkey that holds no PEM block;
// sslcert without sslkey or the reverse; an sslcert and an (unencrypted) sslkey that are not a
// pair. ok is false when there is none. The connection settings fail to parse on each of these.
func badTLSFile(db config.Database) (p tlsFileProblem, ok bool) {
	params := factory.ConnStringParams(db)
	data := map[string][]byte{}
	for _, k := range tlsFileKeys {
		path := params[k]
		if path == "" || (k == "sslrootcert" && path == "system") {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return tlsFileProblem{Key: k, Path: path, Summary: fmt.Sprintf("%s %s cannot be read: %s", k, path, pathReason(err)),
				Fix: fmt.Sprintf("put the file there, or correct %s in database.conn_string (the path is read on this machine, by the user compozy runs as)", k)}, true
		}
		data[k] = b
		switch k {
		case "sslrootcert":
			if !x509.NewCertPool().AppendCertsFromPEM(b) {
				return tlsFileProblem{Key: k, Path: path, Summary: fmt.Sprintf("sslrootcert %s holds no PEM certificate", path),
					Fix: "point sslrootcert in database.conn_string at the CA certificate that signed the server's certificate, in PEM " +
						"(a file that begins -----BEGIN CERTIFICATE-----; postgres.tls shows the server's issuer once it parses)"}, true
			}
		case "sslcert":
			if !holdsPEMCert(b) {
				return tlsFileProblem{Key: k, Path: path, Summary: fmt.Sprintf("sslcert %s holds no PEM certificate", path),
					Fix: "point sslcert in database.conn_string at compozy's client certificate, in PEM (a file that begins -----BEGIN CERTIFICATE-----), with sslkey its private key"}, true
			}
		case "sslkey":
			if blk, _ := pem.Decode(b); blk == nil {
				return tlsFileProblem{Key: k, Path: path, Summary: fmt.Sprintf("sslkey %s holds no PEM private key", path),
					Fix: "point sslkey in database.conn_string at the private key of the client certificate in sslcert, in PEM (a file that begins -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"}, true
			}
		}
	}
	cert, key := params["sslcert"], params["sslkey"]
	switch {
	case cert != "" && key == "":
		return tlsFileProblem{Key: "sslkey", Summary: fmt.Sprintf("sslcert %s is set without sslkey: a client certificate needs its private key", cert),
			Fix: "add sslkey=PATH (the certificate's private key, PEM) to database.conn_string, or remove sslcert"}, true
	case key != "" && cert == "":
		return tlsFileProblem{Key: "sslcert", Summary: fmt.Sprintf("sslkey %s is set without sslcert: a private key needs its client certificate", key),
			Fix: "add sslcert=PATH (the client certificate, PEM) to database.conn_string, or remove sslkey"}, true
	case cert != "" && key != "":
		// An encrypted key needs sslpassword: the connection's own error says so.
		if blk, _ := pem.Decode(data["sslkey"]); blk != nil && !x509.IsEncryptedPEMBlock(blk) { //nolint:staticcheck // as the connection reads it
			if _, err := tls.X509KeyPair(data["sslcert"], data["sslkey"]); err != nil {
				return tlsFileProblem{Key: "sslkey", Path: key, Summary: fmt.Sprintf("sslcert %s and sslkey %s are not a certificate and its key: %v", cert, key, err),
					Fix: "point sslkey in database.conn_string at the private key of the certificate in sslcert (both PEM)"}, true
			}
		}
	}
	return tlsFileProblem{}, false
}

// holdsPEMCert reports whether b holds a PEM CERTIFICATE block that parses.
func holdsPEMCert(b []byte) bool {
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return false
		}
		if blk.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(blk.Bytes); err == nil {
				return true
			}
		}
	}
}

// localHost reports whether host is this machine: a Unix socket folder, localhost or a
// loopback address.
func localHost(host string) bool {
	if host == "" || strings.HasPrefix(host, "/") || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// weakModes encrypt only if the server wants to, and verify nothing.
var weakModes = map[string]bool{"disable": true, "allow": true, "prefer": true}

// tlsResult judges the settings and what the server presented (certs, or certErr) at now.
func tlsResult(st tlsSettings, certs []*x509.Certificate, certErr error, now time.Time) doctor.Result {
	weakFix := doctor.Fix{Text: st.fix("set ssl_mode: verify-full, with the CA that signed the server's certificate in conn_string (sslrootcert)") +
		"\n" + st.connStringLine(tlsChange{Mode: "verify-full", RootCert: orDefault(st.RootCert, st.rootCertPath())})}
	weak := weakModes[st.Mode] && !st.Local
	weakMsg := fmt.Sprintf("ssl_mode %s for %s, a host that is not this machine: the connection may run unencrypted and nothing checks who answers", st.Mode, st.Host)
	switch {
	case st.Mode == "disable" || strings.HasPrefix(st.Host, "/"):
		if weak {
			return doctor.Warn(weakMsg, "", weakFix)
		}
		return doctor.Pass(fmt.Sprintf("no TLS (ssl_mode %s) to %s, on this machine", st.Mode, st.Host))
	case errors.Is(certErr, factory.ErrNoTLS):
		if !weakModes[st.Mode] {
			return doctor.Fail(fmt.Sprintf("ssl_mode %s, but %s does not offer TLS", st.Mode, st.Host), "",
				doctor.Fix{Text: st.fix("turn ssl on in the server's postgresql.conf (ssl = on, ssl_cert_file, ssl_key_file), or lower ssl_mode on a trusted network")})
		}
		if weak {
			return doctor.Warn(weakMsg, st.Host+" does not offer TLS: the connection is not encrypted", weakFix)
		}
		return doctor.Pass(fmt.Sprintf("no TLS: %s does not offer it (ssl_mode %s), on this machine", st.Host, st.Mode))
	case certErr != nil:
		return doctor.Fail("cannot read the server's certificate", config.Redact(certErr.Error()), doctor.Fix{Text: "see postgres.connect"})
	}
	leaf := certs[0]
	facts := certFacts(leaf, now)
	days := int(leaf.NotAfter.Sub(now).Hours() / 24)
	if leaf.NotAfter.Before(now) {
		return doctor.Fail("the server's certificate expired on "+leaf.NotAfter.UTC().Format(time.DateOnly), facts,
			doctor.Fix{Text: "renew the server's certificate (ssl_cert_file) and reload PostgreSQL: SELECT pg_reload_conf();"})
	}
	trust := ""
	if st.Mode == "verify-ca" || st.Mode == "verify-full" {
		r, ok := verifyResult(st, certs, facts, now)
		if !ok {
			return r
		}
		trust = r.Detail
	}
	switch {
	case leaf.NotAfter.Sub(now) < CertExpiryWarning:
		return doctor.Warn(fmt.Sprintf("the server's certificate expires in %d days (%s)", days, leaf.NotAfter.UTC().Format(time.DateOnly)), joinLines(facts, trust),
			doctor.Fix{Text: "renew the server's certificate (ssl_cert_file) and reload PostgreSQL: SELECT pg_reload_conf();"})
	case weak:
		return doctor.Warn(weakMsg, facts, weakFix)
	}
	summary := fmt.Sprintf("TLS (ssl_mode %s): %s", st.Mode, facts)
	if st.Mode == "require" || weakModes[st.Mode] {
		summary += "; not verified (verify-full would check it)"
	} else if trust != "" {
		summary += "; verified by this machine's certificate store"
	}
	r := doctor.Pass(summary)
	r.Detail = trust
	return r
}

func joinLines(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "\n" + b
}

// systemTrust is the detail of a verify-ca or verify-full that passed without sslrootcert.
const systemTrust = "verified against this machine's certificate store (SSL_CERT_FILE, SSL_CERT_DIR or the system's bundle, such as /etc/ssl/certs), " +
	"because conn_string names no sslrootcert. psql and other libpq programs do not read that store: without sslrootcert they look for " +
	"~/.postgresql/root.crt and fail (\"root.crt does not exist\"); sslrootcert=system (libpq 16 or newer) makes them use the store too"

// certFacts is the certificate's subject, issuer and days to expiry, in one line.
func certFacts(c *x509.Certificate, now time.Time) string {
	issuer := c.Issuer.String()
	if issuer == c.Subject.String() {
		issuer += " (self-signed)"
	}
	days := int(c.NotAfter.Sub(now).Hours() / 24)
	return fmt.Sprintf("certificate subject %s, issuer %s, expires %s (%d days)", c.Subject, issuer, c.NotAfter.UTC().Format(time.DateOnly), days)
}

// verifyResult verifies the chain as verify-ca and verify-full do (with sslrootcert, or the
// system's CAs), and for verify-full the host name; ok is false with the failure and its fix.
// A chain that does not verify and a name that does not match are named in the same result,
// with one conn_string that solves both. When ok, the result's Detail says which trust source
// verified the chain when it was not sslrootcert (systemTrust).
func verifyResult(st tlsSettings, certs []*x509.Certificate, facts string, now time.Time) (doctor.Result, bool) {
	leaf := certs[0]
	opts := x509.VerifyOptions{CurrentTime: now, Intermediates: x509.NewCertPool()}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	// The name is checked even when the chain fails: one run names every problem.
	var nameWhy, nameText, newHost string
	if st.Mode == "verify-full" {
		if err := leaf.VerifyHostname(st.Host); err != nil {
			names := certNames(leaf)
			shown := strings.Join(names, ", ")
			if shown == "" {
				shown = "none (only the subject " + leaf.Subject.String() + ")"
			}
			nameWhy = fmt.Sprintf("the certificate is for %s, not %s", shown, st.Host)
			newHost = usableName(names, st.Local)
			nameText = fmt.Sprintf("connect by a name the certificate holds (%s) instead of %s, or reissue the certificate with %s in its subjectAltName", shown, st.Host, st.Host)
		}
	}
	chainFail := func(why string) doctor.Result {
		rootCert, text := st.rootCertPath(), "give compozy the CA that signed the server's certificate: sslrootcert in conn_string"
		if leaf.Issuer.String() == leaf.Subject.String() {
			text += " (the certificate is self-signed: the CA is the server's certificate itself, its ssl_cert_file)"
			if st.CertFile != nil {
				if f := st.CertFile(leaf); f != "" {
					rootCert = f
					text = "the certificate is self-signed and this machine's server reads it from " + f + " (its ssl_cert_file): give that file to compozy as its CA, sslrootcert=" + f
				}
			}
		}
		summary := fmt.Sprintf("ssl_mode %s: %s", st.Mode, why)
		if nameWhy != "" {
			summary += "; and " + nameWhy
			text = "two changes, both in the conn_string below: " + text + "; and " + nameText
		}
		return doctor.Fail(summary, facts,
			doctor.Fix{Text: st.fix(text) + "\n" + st.connStringLine(tlsChange{Mode: st.Mode, RootCert: rootCert, Host: newHost})})
	}
	if st.RootCert != "" && st.RootCert != "system" {
		pem, err := os.ReadFile(st.RootCert)
		if err != nil {
			return chainFail("cannot read sslrootcert " + st.RootCert + ": " + pathReason(err)), false
		}
		opts.Roots = x509.NewCertPool()
		if !opts.Roots.AppendCertsFromPEM(pem) {
			return chainFail("sslrootcert " + st.RootCert + " holds no PEM certificate"), false
		}
	}
	if _, err := leaf.Verify(opts); err != nil {
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			from := "this machine's CAs"
			if opts.Roots != nil {
				from = "sslrootcert " + st.RootCert
			}
			return chainFail(fmt.Sprintf("the server's certificate (issuer %s) is not signed by a CA in %s", leaf.Issuer, from)), false
		}
		return chainFail("the server's certificate does not verify: " + err.Error()), false
	}
	if nameWhy != "" {
		text := st.fix(nameText)
		if newHost != "" {
			text += "\n" + st.connStringLine(tlsChange{Host: newHost})
		}
		return doctor.Fail("ssl_mode verify-full: "+nameWhy, facts, doctor.Fix{Text: text}), false
	}
	if opts.Roots == nil {
		return doctor.Result{Detail: systemTrust}, true
	}
	return doctor.Result{}, true
}

// certNames are the names a certificate holds: its DNS names, then its IP addresses.
func certNames(c *x509.Certificate) []string {
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// hostName is a name a conn_string can hold as a host.
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// usableName is the name of names to connect by instead: localhost for this machine when the
// certificate holds it, else the first that is a plain host name (no wildcard) or an IP
// address; "" when none is.
func usableName(names []string, local bool) string {
	if local && slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, "localhost") }) {
		return "localhost"
	}
	for _, n := range names {
		if hostName.MatchString(n) || net.ParseIP(n) != nil {
			return n
		}
	}
	return ""
}

// tlsChange is what a fix changes in the connection settings; "" keeps a setting as it is.
type tlsChange struct{ Mode, RootCert, Host string }

// connStringLine is the config line of a fix: database.conn_string with c applied. It is a
// setting, not a command, so it goes in the fix's text, not in its commands.
func (st tlsSettings) connStringLine(c tlsChange) string {
	if st.ConnString == "" {
		if c.Mode == "" {
			c.Mode = st.Mode
		}
		return "set database.conn_string (in place of database.host, port, user, name and ssl_mode) to:\n  " + fieldsConnString(st.Settings, c)
	}
	line := editConnString(st.ConnString, c)
	switch from := st.ConnStringFrom; from.Kind {
	case config.SourceFlag:
		return "give " + from.Name + " (where the connection string comes from now) the value:\n  " + line
	case config.SourceEnv:
		return "set " + from.Name + " (where the connection string comes from now) to:\n  " + line
	}
	return "set database.conn_string to:\n  " + line
}

// editConnString is the user's conn_string with c applied: only sslmode, sslrootcert and the
// host change, every other parameter stays as written; the password is shown redacted.
func editConnString(cs string, c tlsChange) string {
	set := map[string]string{}
	var order []string
	for _, kv := range [][2]string{{"sslmode", c.Mode}, {"sslrootcert", c.RootCert}} {
		if kv[1] != "" {
			set[kv[0]] = kv[1]
			order = append(order, kv[0])
		}
	}
	if strings.HasPrefix(cs, "postgres://") || strings.HasPrefix(cs, "postgresql://") {
		return config.Redact(editURL(cs, c.Host, set, order))
	}
	if c.Host != "" {
		set["host"] = c.Host
		order = append(order, "host")
	}
	out := kvPair.ReplaceAllStringFunc(cs, func(m string) string {
		sub := kvPair.FindStringSubmatch(m)
		v, ok := set[sub[2]]
		if !ok {
			return m
		}
		delete(set, sub[2])
		return sub[1] + sub[2] + "=" + kvQuote(v)
	})
	for _, k := range order {
		if v, ok := set[k]; ok {
			out += " " + k + "=" + kvQuote(v)
		}
	}
	return config.Redact(out)
}

// kvPair is one keyword=value setting of a keyword/value conn_string (a value quoted or not).
var kvPair = regexp.MustCompile(`(^|\s)(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']*)`)

func kvQuote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// editURL is the URL cs with the parameters set changed or added (in order) and its only host
// replaced by host (when host is set); a URL with several hosts keeps them.
func editURL(cs, host string, set map[string]string, order []string) string {
	scheme, rest, _ := strings.Cut(cs, "://")
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	path, query, hasQuery := strings.Cut(tail, "?")
	if host != "" {
		userinfo, hostport := "", authority
		if i := strings.LastIndex(authority, "@"); i >= 0 {
			userinfo, hostport = authority[:i+1], authority[i+1:]
		}
		if !strings.Contains(hostport, ",") {
			port := ""
			if h, p, err := net.SplitHostPort(hostport); err == nil && h != "" {
				port = ":" + p
			}
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			authority = userinfo + host + port
		} else if _, ok := set["host"]; !ok {
			set["host"] = host
			order = append(order, "host")
		}
	}
	var parts []string
	if hasQuery && query != "" {
		parts = strings.Split(query, "&")
	}
	for i, part := range parts {
		k, _, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		if key == "host" && host != "" {
			set["host"] = strings.Trim(host, "[]")
		}
		if v, ok := set[key]; ok {
			parts[i] = k + "=" + queryValue(v)
			delete(set, key)
		}
	}
	for _, k := range order {
		if v, ok := set[k]; ok {
			parts = append(parts, k+"="+queryValue(v))
		}
	}
	out := scheme + "://" + authority + path
	if len(parts) > 0 {
		out += "?" + strings.Join(parts, "&")
	}
	return out
}

// queryValue escapes v for a URL's query, leaving / and : as they are (a query allows them).
func queryValue(v string) string {
	return strings.NewReplacer("%2F", "/", "%3A", ":", "+", "%20").Replace(url.QueryEscape(v))
}

// fieldsConnString is the conn_string for settings given as fields, with c applied: the
// connection's own parameters, without connect_timeout (database.connect_timeout stays a
// field) and without the password.
func fieldsConnString(cs factory.ConnSettings, c tlsChange) string {
	params := map[string]string{}
	for k, v := range cs.Params {
		params[k] = v
	}
	if c.RootCert != "" {
		params["sslrootcert"] = c.RootCert
	}
	if c.Mode != "" {
		cs.SSLMode = c.Mode
	}
	if len(cs.Hosts) == 0 && cs.Host != "" {
		cs.Hosts, cs.Ports = []string{cs.Host}, []int{cs.Port}
	}
	if c.Host != "" && len(cs.Hosts) > 0 {
		cs.Hosts = append([]string{c.Host}, cs.Hosts[1:]...)
	}
	cs.Params, cs.ConnectTimeout = params, 0
	u := cs.URL()
	if base, query, ok := strings.Cut(u, "?"); ok {
		u = base + "?" + strings.NewReplacer("%2F", "/", "%3A", ":").Replace(query)
	}
	return u
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
