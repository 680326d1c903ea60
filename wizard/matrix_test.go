package wizard

import (
	"errors"
	"strings"
	"testing"
)

// warningMarks maps the short marks of the matrix table to the warning each stands for.
func warningMarks() map[string]string {
	return map[string]string{
		"W1":   "production / multi-tenant on SQLite",
		"W100": "measured safe up to 200 in one process",
		"WFS":  "filesystem vector store is for development",
		"WKB":  "knowledge bases will not work",
	}
}

// TestDecideMatrix is the decision matrix, one row per cell: use case x workflows x whether a
// PostgreSQL server can be run x what exists for vector search ("" = no knowledge bases). Each
// row gives the driver, the vector DB and the warnings (W1: production on SQLite, W100: SQLite
// past the measured concurrency, WFS: filesystem store for a server, WKB: SQLite without a
// vector DB).
func TestDecideMatrix(t *testing.T) {
	marks := warningMarks()
	for _, tc := range []struct {
		use       UseCase
		workflows Workflows
		server    bool
		avail     Available
		driver    string
		provider  string
		warnings  string
	}{
		{"dev", "1-10", true, "", "sqlite", "none", "WKB"},
		{"dev", "1-10", true, "pgvector", "postgres", "pgvector", ""},
		{"dev", "1-10", true, "qdrant", "sqlite", "qdrant", ""},
		{"dev", "1-10", true, "redis", "sqlite", "redis", ""},
		{"dev", "1-10", true, "none", "sqlite", "filesystem", ""},
		{"dev", "1-10", false, "", "sqlite", "none", "WKB"},
		{"dev", "1-10", false, "pgvector", "sqlite", "filesystem", ""},
		{"dev", "1-10", false, "qdrant", "sqlite", "qdrant", ""},
		{"dev", "1-10", false, "redis", "sqlite", "redis", ""},
		{"dev", "1-10", false, "none", "sqlite", "filesystem", ""},
		{"dev", "10-25", true, "", "sqlite", "none", "WKB"},
		{"dev", "10-25", true, "pgvector", "postgres", "pgvector", ""},
		{"dev", "10-25", true, "qdrant", "sqlite", "qdrant", ""},
		{"dev", "10-25", true, "redis", "sqlite", "redis", ""},
		{"dev", "10-25", true, "none", "sqlite", "filesystem", ""},
		{"dev", "10-25", false, "", "sqlite", "none", "WKB"},
		{"dev", "10-25", false, "pgvector", "sqlite", "filesystem", ""},
		{"dev", "10-25", false, "qdrant", "sqlite", "qdrant", ""},
		{"dev", "10-25", false, "redis", "sqlite", "redis", ""},
		{"dev", "10-25", false, "none", "sqlite", "filesystem", ""},
		{"dev", "25-100", true, "", "sqlite", "none", "WKB"},
		{"dev", "25-100", true, "pgvector", "postgres", "pgvector", ""},
		{"dev", "25-100", true, "qdrant", "sqlite", "qdrant", ""},
		{"dev", "25-100", true, "redis", "sqlite", "redis", ""},
		{"dev", "25-100", true, "none", "sqlite", "filesystem", ""},
		{"dev", "25-100", false, "", "sqlite", "none", "WKB"},
		{"dev", "25-100", false, "pgvector", "sqlite", "filesystem", ""},
		{"dev", "25-100", false, "qdrant", "sqlite", "qdrant", ""},
		{"dev", "25-100", false, "redis", "sqlite", "redis", ""},
		{"dev", "25-100", false, "none", "sqlite", "filesystem", ""},
		{"dev", "100+", true, "", "postgres", "none", ""},
		{"dev", "100+", true, "pgvector", "postgres", "pgvector", ""},
		{"dev", "100+", true, "qdrant", "postgres", "qdrant", ""},
		{"dev", "100+", true, "redis", "postgres", "redis", ""},
		{"dev", "100+", true, "none", "postgres", "pgvector", ""},
		{"dev", "100+", false, "", "sqlite", "none", "W100 WKB"},
		{"dev", "100+", false, "pgvector", "sqlite", "filesystem", "W100"},
		{"dev", "100+", false, "qdrant", "sqlite", "qdrant", "W100"},
		{"dev", "100+", false, "redis", "sqlite", "redis", "W100"},
		{"dev", "100+", false, "none", "sqlite", "filesystem", "W100"},
		{"ci", "1-10", true, "", "sqlite", "none", "WKB"},
		{"ci", "1-10", true, "pgvector", "postgres", "pgvector", ""},
		{"ci", "1-10", true, "qdrant", "sqlite", "qdrant", ""},
		{"ci", "1-10", true, "redis", "sqlite", "redis", ""},
		{"ci", "1-10", true, "none", "sqlite", "filesystem", ""},
		{"ci", "1-10", false, "", "sqlite", "none", "WKB"},
		{"ci", "1-10", false, "pgvector", "sqlite", "filesystem", ""},
		{"ci", "1-10", false, "qdrant", "sqlite", "qdrant", ""},
		{"ci", "1-10", false, "redis", "sqlite", "redis", ""},
		{"ci", "1-10", false, "none", "sqlite", "filesystem", ""},
		{"ci", "10-25", true, "", "sqlite", "none", "WKB"},
		{"ci", "10-25", true, "pgvector", "postgres", "pgvector", ""},
		{"ci", "10-25", true, "qdrant", "sqlite", "qdrant", ""},
		{"ci", "10-25", true, "redis", "sqlite", "redis", ""},
		{"ci", "10-25", true, "none", "sqlite", "filesystem", ""},
		{"ci", "10-25", false, "", "sqlite", "none", "WKB"},
		{"ci", "10-25", false, "pgvector", "sqlite", "filesystem", ""},
		{"ci", "10-25", false, "qdrant", "sqlite", "qdrant", ""},
		{"ci", "10-25", false, "redis", "sqlite", "redis", ""},
		{"ci", "10-25", false, "none", "sqlite", "filesystem", ""},
		{"ci", "25-100", true, "", "sqlite", "none", "WKB"},
		{"ci", "25-100", true, "pgvector", "postgres", "pgvector", ""},
		{"ci", "25-100", true, "qdrant", "sqlite", "qdrant", ""},
		{"ci", "25-100", true, "redis", "sqlite", "redis", ""},
		{"ci", "25-100", true, "none", "sqlite", "filesystem", ""},
		{"ci", "25-100", false, "", "sqlite", "none", "WKB"},
		{"ci", "25-100", false, "pgvector", "sqlite", "filesystem", ""},
		{"ci", "25-100", false, "qdrant", "sqlite", "qdrant", ""},
		{"ci", "25-100", false, "redis", "sqlite", "redis", ""},
		{"ci", "25-100", false, "none", "sqlite", "filesystem", ""},
		{"ci", "100+", true, "", "postgres", "none", ""},
		{"ci", "100+", true, "pgvector", "postgres", "pgvector", ""},
		{"ci", "100+", true, "qdrant", "postgres", "qdrant", ""},
		{"ci", "100+", true, "redis", "postgres", "redis", ""},
		{"ci", "100+", true, "none", "postgres", "pgvector", ""},
		{"ci", "100+", false, "", "sqlite", "none", "W100 WKB"},
		{"ci", "100+", false, "pgvector", "sqlite", "filesystem", "W100"},
		{"ci", "100+", false, "qdrant", "sqlite", "qdrant", "W100"},
		{"ci", "100+", false, "redis", "sqlite", "redis", "W100"},
		{"ci", "100+", false, "none", "sqlite", "filesystem", "W100"},
		{"edge", "1-10", true, "", "sqlite", "none", "WKB"},
		{"edge", "1-10", true, "pgvector", "postgres", "pgvector", ""},
		{"edge", "1-10", true, "qdrant", "sqlite", "qdrant", ""},
		{"edge", "1-10", true, "redis", "sqlite", "redis", ""},
		{"edge", "1-10", true, "none", "sqlite", "filesystem", ""},
		{"edge", "1-10", false, "", "sqlite", "none", "WKB"},
		{"edge", "1-10", false, "pgvector", "sqlite", "filesystem", ""},
		{"edge", "1-10", false, "qdrant", "sqlite", "qdrant", ""},
		{"edge", "1-10", false, "redis", "sqlite", "redis", ""},
		{"edge", "1-10", false, "none", "sqlite", "filesystem", ""},
		{"edge", "10-25", true, "", "sqlite", "none", "WKB"},
		{"edge", "10-25", true, "pgvector", "postgres", "pgvector", ""},
		{"edge", "10-25", true, "qdrant", "sqlite", "qdrant", ""},
		{"edge", "10-25", true, "redis", "sqlite", "redis", ""},
		{"edge", "10-25", true, "none", "sqlite", "filesystem", ""},
		{"edge", "10-25", false, "", "sqlite", "none", "WKB"},
		{"edge", "10-25", false, "pgvector", "sqlite", "filesystem", ""},
		{"edge", "10-25", false, "qdrant", "sqlite", "qdrant", ""},
		{"edge", "10-25", false, "redis", "sqlite", "redis", ""},
		{"edge", "10-25", false, "none", "sqlite", "filesystem", ""},
		{"edge", "25-100", true, "", "sqlite", "none", "WKB"},
		{"edge", "25-100", true, "pgvector", "postgres", "pgvector", ""},
		{"edge", "25-100", true, "qdrant", "sqlite", "qdrant", ""},
		{"edge", "25-100", true, "redis", "sqlite", "redis", ""},
		{"edge", "25-100", true, "none", "sqlite", "filesystem", ""},
		{"edge", "25-100", false, "", "sqlite", "none", "WKB"},
		{"edge", "25-100", false, "pgvector", "sqlite", "filesystem", ""},
		{"edge", "25-100", false, "qdrant", "sqlite", "qdrant", ""},
		{"edge", "25-100", false, "redis", "sqlite", "redis", ""},
		{"edge", "25-100", false, "none", "sqlite", "filesystem", ""},
		{"edge", "100+", true, "", "postgres", "none", ""},
		{"edge", "100+", true, "pgvector", "postgres", "pgvector", ""},
		{"edge", "100+", true, "qdrant", "postgres", "qdrant", ""},
		{"edge", "100+", true, "redis", "postgres", "redis", ""},
		{"edge", "100+", true, "none", "postgres", "pgvector", ""},
		{"edge", "100+", false, "", "sqlite", "none", "W100 WKB"},
		{"edge", "100+", false, "pgvector", "sqlite", "filesystem", "W100"},
		{"edge", "100+", false, "qdrant", "sqlite", "qdrant", "W100"},
		{"edge", "100+", false, "redis", "sqlite", "redis", "W100"},
		{"edge", "100+", false, "none", "sqlite", "filesystem", "W100"},
		{"single-tenant", "1-10", true, "", "sqlite", "none", "WKB"},
		{"single-tenant", "1-10", true, "pgvector", "postgres", "pgvector", ""},
		{"single-tenant", "1-10", true, "qdrant", "sqlite", "qdrant", ""},
		{"single-tenant", "1-10", true, "redis", "sqlite", "redis", ""},
		{"single-tenant", "1-10", true, "none", "sqlite", "qdrant", ""},
		{"single-tenant", "1-10", false, "", "sqlite", "none", "WKB"},
		{"single-tenant", "1-10", false, "pgvector", "sqlite", "filesystem", "WFS"},
		{"single-tenant", "1-10", false, "qdrant", "sqlite", "qdrant", ""},
		{"single-tenant", "1-10", false, "redis", "sqlite", "redis", ""},
		{"single-tenant", "1-10", false, "none", "sqlite", "filesystem", "WFS"},
		{"single-tenant", "10-25", true, "", "sqlite", "none", "WKB"},
		{"single-tenant", "10-25", true, "pgvector", "postgres", "pgvector", ""},
		{"single-tenant", "10-25", true, "qdrant", "sqlite", "qdrant", ""},
		{"single-tenant", "10-25", true, "redis", "sqlite", "redis", ""},
		{"single-tenant", "10-25", true, "none", "sqlite", "qdrant", ""},
		{"single-tenant", "10-25", false, "", "sqlite", "none", "WKB"},
		{"single-tenant", "10-25", false, "pgvector", "sqlite", "filesystem", "WFS"},
		{"single-tenant", "10-25", false, "qdrant", "sqlite", "qdrant", ""},
		{"single-tenant", "10-25", false, "redis", "sqlite", "redis", ""},
		{"single-tenant", "10-25", false, "none", "sqlite", "filesystem", "WFS"},
		{"single-tenant", "25-100", true, "", "sqlite", "none", "WKB"},
		{"single-tenant", "25-100", true, "pgvector", "postgres", "pgvector", ""},
		{"single-tenant", "25-100", true, "qdrant", "sqlite", "qdrant", ""},
		{"single-tenant", "25-100", true, "redis", "sqlite", "redis", ""},
		{"single-tenant", "25-100", true, "none", "sqlite", "qdrant", ""},
		{"single-tenant", "25-100", false, "", "sqlite", "none", "WKB"},
		{"single-tenant", "25-100", false, "pgvector", "sqlite", "filesystem", "WFS"},
		{"single-tenant", "25-100", false, "qdrant", "sqlite", "qdrant", ""},
		{"single-tenant", "25-100", false, "redis", "sqlite", "redis", ""},
		{"single-tenant", "25-100", false, "none", "sqlite", "filesystem", "WFS"},
		{"single-tenant", "100+", true, "", "postgres", "none", ""},
		{"single-tenant", "100+", true, "pgvector", "postgres", "pgvector", ""},
		{"single-tenant", "100+", true, "qdrant", "postgres", "qdrant", ""},
		{"single-tenant", "100+", true, "redis", "postgres", "redis", ""},
		{"single-tenant", "100+", true, "none", "postgres", "pgvector", ""},
		{"single-tenant", "100+", false, "", "sqlite", "none", "W100 WKB"},
		{"single-tenant", "100+", false, "pgvector", "sqlite", "filesystem", "W100 WFS"},
		{"single-tenant", "100+", false, "qdrant", "sqlite", "qdrant", "W100"},
		{"single-tenant", "100+", false, "redis", "sqlite", "redis", "W100"},
		{"single-tenant", "100+", false, "none", "sqlite", "filesystem", "W100 WFS"},
		{"production", "1-10", true, "", "postgres", "none", ""},
		{"production", "1-10", true, "pgvector", "postgres", "pgvector", ""},
		{"production", "1-10", true, "qdrant", "postgres", "qdrant", ""},
		{"production", "1-10", true, "redis", "postgres", "redis", ""},
		{"production", "1-10", true, "none", "postgres", "pgvector", ""},
		{"production", "1-10", false, "", "sqlite", "none", "W1 WKB"},
		{"production", "1-10", false, "pgvector", "sqlite", "filesystem", "W1 WFS"},
		{"production", "1-10", false, "qdrant", "sqlite", "qdrant", "W1"},
		{"production", "1-10", false, "redis", "sqlite", "redis", "W1"},
		{"production", "1-10", false, "none", "sqlite", "filesystem", "W1 WFS"},
		{"production", "10-25", true, "", "postgres", "none", ""},
		{"production", "10-25", true, "pgvector", "postgres", "pgvector", ""},
		{"production", "10-25", true, "qdrant", "postgres", "qdrant", ""},
		{"production", "10-25", true, "redis", "postgres", "redis", ""},
		{"production", "10-25", true, "none", "postgres", "pgvector", ""},
		{"production", "10-25", false, "", "sqlite", "none", "W1 WKB"},
		{"production", "10-25", false, "pgvector", "sqlite", "filesystem", "W1 WFS"},
		{"production", "10-25", false, "qdrant", "sqlite", "qdrant", "W1"},
		{"production", "10-25", false, "redis", "sqlite", "redis", "W1"},
		{"production", "10-25", false, "none", "sqlite", "filesystem", "W1 WFS"},
		{"production", "25-100", true, "", "postgres", "none", ""},
		{"production", "25-100", true, "pgvector", "postgres", "pgvector", ""},
		{"production", "25-100", true, "qdrant", "postgres", "qdrant", ""},
		{"production", "25-100", true, "redis", "postgres", "redis", ""},
		{"production", "25-100", true, "none", "postgres", "pgvector", ""},
		{"production", "25-100", false, "", "sqlite", "none", "W1 WKB"},
		{"production", "25-100", false, "pgvector", "sqlite", "filesystem", "W1 WFS"},
		{"production", "25-100", false, "qdrant", "sqlite", "qdrant", "W1"},
		{"production", "25-100", false, "redis", "sqlite", "redis", "W1"},
		{"production", "25-100", false, "none", "sqlite", "filesystem", "W1 WFS"},
		{"production", "100+", true, "", "postgres", "none", ""},
		{"production", "100+", true, "pgvector", "postgres", "pgvector", ""},
		{"production", "100+", true, "qdrant", "postgres", "qdrant", ""},
		{"production", "100+", true, "redis", "postgres", "redis", ""},
		{"production", "100+", true, "none", "postgres", "pgvector", ""},
		{"production", "100+", false, "", "sqlite", "none", "W1 W100 WKB"},
		{"production", "100+", false, "pgvector", "sqlite", "filesystem", "W1 W100 WFS"},
		{"production", "100+", false, "qdrant", "sqlite", "qdrant", "W1 W100"},
		{"production", "100+", false, "redis", "sqlite", "redis", "W1 W100"},
		{"production", "100+", false, "none", "sqlite", "filesystem", "W1 W100 WFS"},
	} {
		a := Answers{UseCase: tc.use, Workflows: tc.workflows, Server: tc.server, Vectors: tc.avail != "", Available: tc.avail}
		got, err := Decide(a)
		if err != nil {
			t.Fatalf("%s: %v", a.row(), err)
		}
		if got.Driver != tc.driver || got.Provider != tc.provider {
			t.Errorf("%s: %s + %s, want %s + %s", a.row(), got.Driver, got.Provider, tc.driver, tc.provider)
		}
		want := strings.Fields(tc.warnings)
		if len(got.Warnings) != len(want) {
			t.Errorf("%s: warnings %q, want %v", a.row(), got.Warnings, want)
		}
		for _, m := range want {
			if !strings.Contains(strings.Join(got.Warnings, "\n"), marks[m]) {
				t.Errorf("%s: no %s warning in %q", a.row(), m, got.Warnings)
			}
		}
		if got.Driver == DriverSQLite && got.Provider == ProviderPgvector {
			t.Errorf("%s: pgvector offered with SQLite", a.row())
		}
		if len(got.Reasons) < 2 || got.Row == "" || got.Overridden() {
			t.Errorf("%s: reasons %q, row %q, overridden %v", a.row(), got.Reasons, got.Row, got.Overridden())
		}
		again, _ := Decide(a)
		if strings.Join(again.Reasons, "|") != strings.Join(got.Reasons, "|") {
			t.Errorf("%s: Decide is not deterministic", a.row())
		}
	}
}

// TestDecideReasons checks the reasons and warnings of the rows that carry a specific one.
func TestDecideReasons(t *testing.T) {
	for _, tc := range []struct {
		name        string
		a           Answers
		wantReason  string
		wantWarning string
	}{
		{"sqlite and pgvector explains the external vector DB", Answers{UseCase: UseDev, Workflows: Workflows1to10, Vectors: true, Available: AvailPgvector, Driver: DriverSQLite},
			"pgvector only works with the postgres driver, so an external vector DB is required", ""},
		{"no server and pgvector explains the external vector DB", Answers{UseCase: UseEdge, Workflows: Workflows1to10, Vectors: true, Available: AvailPgvector},
			"an external vector DB is required", ""},
		{"100+ on SQLite warns", Answers{UseCase: UseEdge, Workflows: Workflows100Plus},
			"edge device", "measured safe up to 200 in one process"},
		{"100+ with a server moves to PostgreSQL", Answers{UseCase: UseSingleTenant, Workflows: Workflows100Plus, Server: true},
			"100+ concurrent workflows", ""},
		{"production without a server warns", Answers{UseCase: UseProduction, Workflows: Workflows25to100},
			"no database server", "only one Compozy process may use the database file"},
		{"production forced onto SQLite warns", Answers{UseCase: UseProduction, Workflows: Workflows1to10, Server: true, Driver: DriverSQLite},
			"driver sqlite chosen by you (the matrix recommends postgres)", "only one Compozy process"},
		{"filesystem for a server warns", Answers{UseCase: UseSingleTenant, Workflows: Workflows1to10, Vectors: true, Available: AvailNone},
			"filesystem store", "filesystem vector store is for development"},
		{"SQLite without vectors warns", Answers{UseCase: UseDev, Workflows: Workflows1to10},
			"no knowledge bases", "knowledge bases will not work"},
		{"qdrant override", Answers{UseCase: UseDev, Workflows: Workflows1to10, Vectors: true, Available: AvailNone, Provider: ProviderQdrant},
			"vector DB qdrant chosen by you (the matrix recommends filesystem)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decide(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(p.Reasons, "\n"), tc.wantReason) {
				t.Errorf("reasons lack %q:\n%s", tc.wantReason, strings.Join(p.Reasons, "\n"))
			}
			warnings := strings.Join(p.Warnings, "\n")
			if !strings.Contains(warnings, tc.wantWarning) {
				t.Errorf("warnings lack %q:\n%s", tc.wantWarning, warnings)
			}
		})
	}
}

func TestDecideRefuses(t *testing.T) {
	_, err := Decide(Answers{UseCase: UseDev, Workflows: Workflows1to10, Vectors: true, Available: AvailNone, Driver: DriverSQLite, Provider: ProviderPgvector})
	if !errors.Is(err, ErrPgvectorSQLite) {
		t.Errorf("sqlite + pgvector: %v", err)
	}
	for _, a := range []Answers{
		{UseCase: "laptop", Workflows: Workflows1to10},
		{UseCase: UseDev, Workflows: "7"},
		{UseCase: UseDev, Workflows: Workflows1to10, Vectors: true, Available: "milvus"},
		{UseCase: UseDev, Workflows: Workflows1to10, Driver: "mysql"},
		{UseCase: UseDev, Workflows: Workflows1to10, Provider: "milvus"},
	} {
		if _, err := Decide(a); err == nil {
			t.Errorf("%+v: no error", a)
		}
	}
}

func TestDirect(t *testing.T) {
	p, err := Direct(DriverSQLite, ProviderNone)
	if err != nil || p.Driver != DriverSQLite || p.Provider != ProviderNone || len(p.Warnings) != 1 || p.Overridden() {
		t.Errorf("sqlite + none: %+v %v", p, err)
	}
	if _, err := Direct(DriverSQLite, ProviderPgvector); !errors.Is(err, ErrPgvectorSQLite) {
		t.Errorf("sqlite + pgvector: %v", err)
	}
	for _, bad := range [][2]string{{"mysql", ProviderQdrant}, {DriverPostgres, "milvus"}, {"", ProviderQdrant}} {
		if _, err := Direct(bad[0], bad[1]); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	kept := p.KeepingVectorDBs()
	if len(kept.Warnings) != 0 || !strings.Contains(strings.Join(kept.Reasons, " "), "kept as they are") || len(p.Warnings) != 1 {
		t.Errorf("KeepingVectorDBs: %+v (original %+v)", kept, p)
	}
}
