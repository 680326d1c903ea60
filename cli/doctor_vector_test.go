package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	vfactory "compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/core/vector/qdrant/qdranttest"
	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// realRedisURL is the URL of a real Redis at addr, or skips (fails in CI) when none answers.
func realRedisURL(t *testing.T, addr, what string) string {
	t.Helper()
	if addr == "" {
		testenv.Unavailable(t, "Redis", what, errors.New("address not set"))
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		testenv.Unavailable(t, "Redis", what, err)
	}
	_ = c.Close()
	return "redis://" + addr
}

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
	t.Parallel()
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T) (provider, url string)
		id     string
		status doctor.Status
		re     string
		code   int
	}{
		// Real servers: the plain Redis of this machine, and Debian's RediSearch 1.2 that
		// .ci/run starts on another port.
		{"redis without search module", func(t *testing.T) (string, string) {
			return "redis", realRedisURL(t, testenv.RedisAddr(), "the plain Redis (start it, or set COMPOZY_TEST_REDIS_ADDR)")
		}, doctor.IDVectorRedisModule, doctor.StatusFail, "missing", 1},
		{"redis with RediSearch 1.2", func(t *testing.T) (string, string) {
			return "redis", realRedisURL(t, os.Getenv("COMPOZY_TEST_REDIS_OLDSEARCH_ADDR"),
				"Redis with Debian's redis-redisearch (1.2) at COMPOZY_TEST_REDIS_OLDSEARCH_ADDR, as .ci/run starts it")
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
			r := runCLI(t, dir, nil, "doctor", "--json", "--only", "vector", "--timeout", "2s")
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
	t.Parallel()
	s := qdranttest.Start(t)
	dir := vectorDir(t, "qdrant", s.URL(), 8)
	r := runCLI(t, dir, nil, "doctor", "--json", "--only", "vector")
	d := parseDoctor(t, r)
	c := expectCheck(t, d, doctor.IDVectorQdrantCollection, doctor.StatusFail, "")
	if !c.Fixable || r.code != 1 {
		t.Fatalf("fixable %v, exit %d", c.Fixable, r.code)
	}
	dry := runCLI(t, dir, nil, "doctor", "--only", "vector", "--fix", "--dry-run")
	if dry.code != 1 || !rx(`Dry run: 1 fix\(es\) would be applied[\s\S]*vector\.qdrant\.collection \[kb\]: create the qdrant collection of vector DB "kb" \(dimension 8\)`).MatchString(dry.out) {
		t.Errorf("dry run (exit %d):\n%s", dry.code, dry.out)
	}
	fix := runCLI(t, dir, nil, "doctor", "--only", "vector", "--fix", "--yes")
	if fix.code != 0 || !rx(`Fixed vector\.qdrant\.collection \[kb\]`).MatchString(fix.out) ||
		!rx(`✓ PASS  vector\.qdrant\.collection \[kb\]`).MatchString(fix.out) {
		t.Errorf("--fix --yes (exit %d):\n%s", fix.code, fix.out)
	}
}
