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
