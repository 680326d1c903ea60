package checks

import (
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/doctor"
)

func TestPoolerResult(t *testing.T) {
	db := config.Database{Driver: config.DriverPostgres, ConnString: "postgres://app:s3cret@127.0.0.1:6432/app?sslmode=disable"}
	bouncer := factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: factory.PoolTransaction, Version: "PgBouncer 1.18.0",
		SharedSession: true, Evidence: []string{"its admin console answered SHOW VERSION"}}
	for _, tc := range []struct {
		name   string
		f      PoolerFinding
		status doctor.Status
		want   []string // in summary, detail, fix text or commands
	}{
		{"direct", PoolerFinding{ExecMode: "cache_statement"}, doctor.StatusPass, []string{"no pooler"}},
		{"session pooling", PoolerFinding{Pooler: factory.Pooler{Kind: factory.PoolerPgBouncer, Mode: "session"}}, doctor.StatusPass, []string{"keeps its server session"}},
		{"transaction pooling", PoolerFinding{Pooler: bouncer, ExecMode: "simple_protocol (chosen by compozy)", Direct: "10.0.0.5:5432"}, doctor.StatusWarn,
			[]string{"PgBouncer 1.18.0 (transaction pooling)", "migration lock", "direct URL", "simple_protocol", "refuse",
				"compozy migrate up --db-conn-string 'postgres://app@10.0.0.5:5432/app?sslmode=disable'"}},
		{"cached statements chosen", PoolerFinding{Pooler: bouncer, ExecMode: "cache_statement", ExecModeSet: true}, doctor.StatusFail,
			[]string{"42P05", "simple_protocol"}},
		{"pglite", PoolerFinding{Pooler: factory.Pooler{Kind: factory.PoolerPGlite, SharedSession: true}, ExecMode: "simple_protocol"}, doctor.StatusWarn,
			[]string{"PGlite", "second migrator"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := poolerResult(tc.f, db)
			if r.Status != tc.status {
				t.Fatalf("status %s, want %s: %s", r.Status, tc.status, r.Summary)
			}
			all := strings.Join(append([]string{r.Summary, r.Detail, r.Fix.Text}, r.Fix.Commands...), "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("result lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, "s3cret") {
				t.Errorf("the password leaked:\n%s", all)
			}
		})
	}
}
