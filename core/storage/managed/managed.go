// Package managed tells the managed PostgreSQL services (Amazon RDS, Google Cloud SQL,
// Supabase, Neon, Azure Database for PostgreSQL) by the host a connection names, and says
// where each one differs from a PostgreSQL of one's own: who may create the pgvector
// extension, and what TLS it expects. It connects to nothing and imports nothing of compozy's,
// so the doctor's checks and the vector drivers can both name the service in their fixes.
package managed

import "strings"

// Kind is a managed service.
type Kind string

// The services.
const (
	RDS      Kind = "rds"
	CloudSQL Kind = "cloudsql"
	Supabase Kind = "supabase"
	Neon     Kind = "neon"
	Azure    Kind = "azure"
)

// Service is the managed service a host belongs to; the zero value is none known.
type Service struct {
	Kind Kind
	// Name is the service for a sentence ("Amazon RDS").
	Name string
}

// Known reports whether the host showed a managed service.
func (s Service) Known() bool { return s.Kind != "" }

// FromHost tells the service by the host of a connection (a name, or a socket folder): Amazon
// RDS and Aurora (*.rds.amazonaws.com, *.rds.amazonaws.com.cn), Cloud SQL (the Auth Proxy's
// /cloudsql/ socket folder, *.sql.goog private names), Supabase (*.supabase.co and its pooler
// *.pooler.supabase.com), Neon (*.neon.tech) and Azure (*.postgres.database.azure.com). An IP
// address or any other name says nothing: the zero Service.
func FromHost(host string) Service {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	switch {
	case h == "":
	case strings.HasPrefix(h, "/"):
		if strings.Contains(h+"/", "/cloudsql/") {
			return Service{CloudSQL, "Google Cloud SQL"}
		}
	case strings.HasSuffix(h, ".rds.amazonaws.com"), strings.HasSuffix(h, ".rds.amazonaws.com.cn"):
		return Service{RDS, "Amazon RDS"}
	case strings.HasSuffix(h, ".sql.goog"):
		return Service{CloudSQL, "Google Cloud SQL"}
	case strings.HasSuffix(h, ".supabase.co"), strings.HasSuffix(h, ".supabase.com"):
		return Service{Supabase, "Supabase"}
	case strings.HasSuffix(h, ".neon.tech"):
		return Service{Neon, "Neon"}
	case strings.HasSuffix(h, ".postgres.database.azure.com"):
		return Service{Azure, "Azure Database for PostgreSQL"}
	}
	return Service{}
}

// ExtensionFix says who may create the pgvector extension on the service, and how; "" when
// no service is known (then PostgreSQL's own rule holds: a superuser, or, pgvector being
// trusted from 0.5 on PostgreSQL 13+, an owner with CREATE on the database).
func (s Service) ExtensionFix() string {
	switch s.Kind {
	case RDS:
		return "on Amazon RDS there is no superuser: a role with rds_superuser (the master user has it) runs CREATE EXTENSION vector; in the database"
	case CloudSQL:
		return "on Cloud SQL a role with cloudsqlsuperuser (the postgres user, and users made in the console) runs CREATE EXTENSION vector; in the database"
	case Supabase:
		return "on Supabase enable \"vector\" in the dashboard (Database, Extensions), or run: create extension vector with schema extensions;"
	case Neon:
		return "on Neon the roles made in the console or API (members of neon_superuser) may run CREATE EXTENSION vector; in the database"
	case Azure:
		return "on Azure, allow the extension first (add VECTOR to the server parameter azure.extensions), then the admin user runs CREATE EXTENSION vector; in the database"
	}
	return ""
}

// TLSFix says what TLS the service expects and how to verify it; "" when no service is known.
func (s Service) TLSFix() string {
	switch s.Kind {
	case RDS:
		return "Amazon RDS speaks TLS (rds.force_ssl is on by default from PostgreSQL 15): ssl_mode: verify-full with sslrootcert= the RDS CA bundle (global-bundle.pem from truststore.pki.rds.amazonaws.com)"
	case CloudSQL:
		return "Cloud SQL: through the Auth Proxy's /cloudsql/ socket the proxy encrypts (ssl_mode: disable there); on the instance's IP use ssl_mode: require, or verify-ca with the server CA from the console (its certificate does not name the host, so verify-full fails)"
	case Supabase:
		return "Supabase accepts TLS on every endpoint: ssl_mode: require, or verify-full with the CA certificate from the dashboard's database settings"
	case Neon:
		return "Neon accepts TLS only: ssl_mode: require, or verify-full (its certificates are signed by a public CA, which the system's CA bundle holds)"
	case Azure:
		return "Azure Database for PostgreSQL requires TLS by default (require_secure_transport): ssl_mode: require, or verify-full with its root CA (DigiCert Global Root G2 and Microsoft RSA Root CA 2017)"
	}
	return ""
}
