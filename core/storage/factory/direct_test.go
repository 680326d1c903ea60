package factory_test

import (
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
)

// DirectMigrateCommand is migrate up through the server behind a pooler, with the pooled URL's
// other settings and never its password; "" when the server is not a host:port.
func TestDirectMigrateCommand(t *testing.T) {
	db := config.Database{Driver: config.DriverPostgres, ConnString: "postgres://app:s3cret@127.0.0.1:6432/app?sslmode=disable"}
	for _, tc := range []struct{ direct, want string }{
		{"10.0.0.5:5432", "compozy migrate up --db-conn-string 'postgres://app@10.0.0.5:5432/app?sslmode=disable'"},
		{"ep-x.eu-central-1.aws.neon.tech:5432", "compozy migrate up --db-conn-string 'postgres://app@ep-x.eu-central-1.aws.neon.tech:5432/app?sslmode=disable'"},
		{"", ""}, {"10.0.0.5", ""}, {"10.0.0.5:pg", ""},
	} {
		if got := factory.DirectMigrateCommand(db, tc.direct); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.direct, got, tc.want)
		}
	}
	if got := factory.DirectMigrateCommand(config.Database{Driver: config.DriverPostgres, ConnString: "postgres://a b:%zz@"}, "10.0.0.5:5432"); got != "" {
		t.Errorf("settings that do not parse: %q", got)
	}
}

// compozy migrate refuses to run through poolers that break sessions, but not through PGlite.
func TestRefusesMigrations(t *testing.T) {
	for _, tc := range []struct {
		p    factory.Pooler
		want bool
	}{
		{factory.Pooler{}, false},
		{factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: "session"}, false},
		{factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: factory.PoolTransaction}, true},
		{factory.Pooler{SharedSession: true}, true},
		{factory.Pooler{Kind: factory.PoolerPGlite, SharedSession: true}, false},
	} {
		if got := factory.RefusesMigrations(tc.p); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.p, got, tc.want)
		}
	}
}
