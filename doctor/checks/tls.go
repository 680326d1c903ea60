package checks

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
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
}

// doorCerts is CertSource through the one door.
type doorCerts struct{}

func (doorCerts) ServerCertificates(ctx context.Context, db config.Database) ([]*x509.Certificate, error) {
	return factory.ServerCertificates(ctx, db)
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
	db := s.db
	return check(doctor.IDPostgresTLS, func(ctx context.Context) doctor.Result {
		cs, err := factory.PostgresConnSettings(db)
		if err != nil {
			return doctor.Skip("skipped: the connection settings do not parse (see postgres.connect)")
		}
		st := tlsSettings{Host: cs.Host, Mode: cs.SSLMode, RootCert: cs.Params["sslrootcert"], Local: localHost(cs.Host), Settings: cs,
			Service: managed.FromHost(cs.Host)}
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
	})
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
	weakFix := doctor.Cmds(st.fix("set ssl_mode: verify-full, with the CA that signed the server's certificate in conn_string (sslrootcert)"),
		"conn_string: "+withTLS(st.Settings, "verify-full", orDefault(st.RootCert, st.rootCertPath())))
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
	if st.Mode == "verify-ca" || st.Mode == "verify-full" {
		if r, ok := verifyResult(st, certs, facts, now); !ok {
			return r
		}
	}
	switch {
	case leaf.NotAfter.Sub(now) < CertExpiryWarning:
		return doctor.Warn(fmt.Sprintf("the server's certificate expires in %d days (%s)", days, leaf.NotAfter.UTC().Format(time.DateOnly)), facts,
			doctor.Fix{Text: "renew the server's certificate (ssl_cert_file) and reload PostgreSQL: SELECT pg_reload_conf();"})
	case weak:
		return doctor.Warn(weakMsg, facts, weakFix)
	}
	summary := fmt.Sprintf("TLS (ssl_mode %s): %s", st.Mode, facts)
	if st.Mode == "require" || weakModes[st.Mode] {
		summary += "; not verified (verify-full would check it)"
	}
	return doctor.Pass(summary)
}

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
func verifyResult(st tlsSettings, certs []*x509.Certificate, facts string, now time.Time) (doctor.Result, bool) {
	leaf := certs[0]
	opts := x509.VerifyOptions{CurrentTime: now, Intermediates: x509.NewCertPool()}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	rootFix := func(why string) doctor.Result {
		text := "give compozy the CA that signed the server's certificate: sslrootcert=/path/to/root.crt in conn_string"
		if leaf.Issuer.String() == leaf.Subject.String() {
			text += " (the certificate is self-signed: the CA is the server's certificate itself, its ssl_cert_file)"
		}
		return doctor.Fail(fmt.Sprintf("ssl_mode %s: %s", st.Mode, why), facts,
			doctor.Cmds(st.fix(text), "conn_string: "+withTLS(st.Settings, st.Mode, st.rootCertPath())))
	}
	if st.RootCert != "" && st.RootCert != "system" {
		pem, err := os.ReadFile(st.RootCert)
		if err != nil {
			return rootFix("cannot read sslrootcert " + st.RootCert + ": " + err.Error()), false
		}
		opts.Roots = x509.NewCertPool()
		if !opts.Roots.AppendCertsFromPEM(pem) {
			return rootFix("sslrootcert " + st.RootCert + " holds no PEM certificate"), false
		}
	}
	if _, err := leaf.Verify(opts); err != nil {
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			from := "this machine's CAs"
			if opts.Roots != nil {
				from = "sslrootcert " + st.RootCert
			}
			return rootFix(fmt.Sprintf("the server's certificate (issuer %s) is not signed by a CA in %s", leaf.Issuer, from)), false
		}
		return rootFix("the server's certificate does not verify: " + err.Error()), false
	}
	if st.Mode == "verify-full" {
		if err := leaf.VerifyHostname(st.Host); err != nil {
			names := strings.Join(leaf.DNSNames, ", ")
			for _, ip := range leaf.IPAddresses {
				names = strings.TrimPrefix(names+", "+ip.String(), ", ")
			}
			if names == "" {
				names = "none (only the subject " + leaf.Subject.String() + ")"
			}
			return doctor.Fail(fmt.Sprintf("ssl_mode verify-full: the certificate is for %s, not %s", names, st.Host), facts,
				doctor.Fix{Text: st.fix(fmt.Sprintf("connect by a name the certificate holds (%s) instead of %s, or reissue the certificate with %s in its subjectAltName", names, st.Host, st.Host))}), false
		}
	}
	return doctor.Result{}, true
}

// withTLS is the connection as a conn_string URL with sslmode and sslrootcert set (no password).
func withTLS(cs factory.ConnSettings, mode, rootCert string) string {
	params := map[string]string{}
	for k, v := range cs.Params {
		params[k] = v
	}
	params["sslrootcert"] = rootCert
	cs.Params, cs.SSLMode = params, mode
	return cs.URL()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
