package factory

import (
	"context"
	"crypto/x509"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/postgres"
)

// ErrNoTLS is ServerCertificates' answer when the server does not offer TLS (or the host is a
// Unix socket).
var ErrNoTLS = postgres.ErrNoTLS

// ServerCertificates returns the certificates the PostgreSQL server db names presents for TLS
// (its own first), unverified, without logging in: for the doctor to show and verify them.
func ServerCertificates(ctx context.Context, db config.Database) ([]*x509.Certificate, error) {
	return postgres.ServerCertificates(ctx, PostgresOptions(db))
}

// ServerCertFile is the ssl_cert_file of the PostgreSQL server db names, read over a login
// that accepts only the certificate leaf (see postgres.ServerCertFile).
func ServerCertFile(ctx context.Context, db config.Database, leaf *x509.Certificate) (string, error) {
	return postgres.ServerCertFile(ctx, PostgresOptions(db), leaf)
}

// ConnStringParams are the settings db.ConnString names, by libpq keyword, values decoded
// (password and sslpassword left out); nil when it does not parse.
func ConnStringParams(db config.Database) map[string]string {
	named, err := postgres.ConnStringParams(db.ConnString)
	if err != nil {
		return nil
	}
	delete(named, "password")
	delete(named, "sslpassword")
	return named
}
