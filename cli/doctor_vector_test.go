package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"compozy.dev/setup/core/config"
	vfactory "compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/core/vector/qdrant/qdranttest"
	"compozy.dev/setup/core/vector/redis/redistest"
	"compozy.dev/setup/doctor"
)

// vectorDir is a folder with a healthy SQLite database and one vector DB entry.
func vectorDir(t *testing.T, provider, url string, dim int) string {
	t.Helper()
	dir, db := sqliteDir(t, "")
	newSQLiteDB(t, db, "WAL", 0)
	yaml := fmt.Sprintf("database:\n  driver: sqlite\n  path: ./data/compozy.db\nknowledge:\n  vector_dbs:\n    - id: kb\n      provider: %s\n      url: %s\n      dimension: %d\n", provider, url, dim)
	if err := os.WriteFile(filepath.Join(dir, "compozy.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDoctorVector(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T) (provider, url string)
		id     string
		status doctor.Status
		re     string
		code   int
	}{
		{"redis without search module", func(t *testing.T) (string, string) {
			return "redis", redistest.Start(t, 0).URL()
		}, doctor.IDVectorRedisModule, doctor.StatusFail, "", 1},
		{"redis with RediSearch 1.2", func(t *testing.T) (string, string) {
			return "redis", redistest.Start(t, 10200).URL()
		}, doctor.IDVectorRedisModule, doctor.StatusFail, `1\.2`, 1},
		{"qdrant down", func(t *testing.T) (string, string) {
			s := qdranttest.Start(t)
			s.Stop()
			return "qdrant", s.URL()
		}, doctor.IDVectorQdrantReachable, doctor.StatusFail, "", 1},
		{"qdrant dimension mismatch", func(t *testing.T) (string, string) {
			s := qdranttest.Start(t)
			st, err := vfactory.Open(t.Context(), config.VectorDB{ID: "kb", Provider: "qdrant", URL: s.URL(), Dimension: 4}, vfactory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Ensure(t.Context()); err != nil {
				t.Fatal(err)
			}
			return "qdrant", s.URL()
		}, doctor.IDVectorDimension, doctor.StatusFail, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			provider, url := tc.setup(t)
			dir := vectorDir(t, provider, url, 8)
			r := runMigrateCLI(t, dir, nil, "doctor", "--json", "--only", "vector", "--timeout", "2s")
			d := parseDoctor(t, r)
			c := expectCheck(t, d, tc.id, tc.status, tc.re)
			if c.Entry != "kb" {
				t.Errorf("entry %q", c.Entry)
			}
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r.out)
			}
		})
	}
}

// TestDoctorFixQdrantCollection: the collection is missing, --fix --dry-run plans its creation
// and changes nothing, --fix --yes creates it and the checks run again and pass.
func TestDoctorFixQdrantCollection(t *testing.T) {
	s := qdranttest.Start(t)
	dir := vectorDir(t, "qdrant", s.URL(), 8)
	r := runMigrateCLI(t, dir, nil, "doctor", "--json", "--only", "vector")
	d := parseDoctor(t, r)
	c := expectCheck(t, d, doctor.IDVectorQdrantCollection, doctor.StatusFail, "")
	if !c.Fixable || r.code != 1 {
		t.Fatalf("fixable %v, exit %d", c.Fixable, r.code)
	}
	dry := runMigrateCLI(t, dir, nil, "doctor", "--only", "vector", "--fix", "--dry-run")
	if dry.code != 1 || !rx(`Dry run: 1 fix\(es\) would be applied[\s\S]*vector\.qdrant\.collection \[kb\]: create the qdrant collection of vector DB "kb" \(dimension 8\)`).MatchString(dry.out) {
		t.Errorf("dry run (exit %d):\n%s", dry.code, dry.out)
	}
	fix := runMigrateCLI(t, dir, nil, "doctor", "--only", "vector", "--fix", "--yes")
	if fix.code != 0 || !rx(`Fixed vector\.qdrant\.collection \[kb\]`).MatchString(fix.out) ||
		!rx(`✓ PASS  vector\.qdrant\.collection \[kb\]`).MatchString(fix.out) {
		t.Errorf("--fix --yes (exit %d):\n%s", fix.code, fix.out)
	}
}
