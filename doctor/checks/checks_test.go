package checks

import (
	"context"
	"path/filepath"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/vector"
	vfactory "compozy.dev/setup/core/vector/factory"
	"compozy.dev/setup/doctor"
)

// testDoor is the one door, as cli hands it to Build.
type testDoor struct{}

func (testDoor) Open(ctx context.Context, db config.Database, mode factory.Mode) (*factory.Handle, error) {
	return factory.Open(ctx, db, mode)
}

func (testDoor) MemoryCopy(ctx context.Context, h *factory.Handle) (*factory.Handle, error) {
	return factory.MemoryCopy(ctx, h)
}

// testVectors is the vector factory, as cli hands it to Build.
type testVectors struct{ opts vfactory.Options }

func (v testVectors) Checks(ctx context.Context, e config.VectorDB) ([]vector.Check, func() error) {
	return vfactory.Checks(ctx, e, v.opts)
}

func (v testVectors) Open(ctx context.Context, e config.VectorDB) (vector.Store, error) {
	return vfactory.Open(ctx, e, v.opts)
}

func TestParseLocks(t *testing.T) {
	data := []byte("1: POSIX  ADVISORY  WRITE 4242 08:01:5678 120 120\n" +
		"2: -> POSIX  ADVISORY  WRITE 99 08:01:5678 120 120\n" +
		"3: FLOCK  ADVISORY  WRITE 77 00:2a:123 0 EOF\n")
	got := parseLocks(data)
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	if e := got[0]; e.pid != 4242 || !e.write || e.inode != 5678 || e.dev != 8<<20|1 || e.start != 120 || e.end != 120 {
		t.Errorf("%+v", e)
	}
	if e := got[1]; e.kind != "FLOCK" || e.pid != 77 || e.end != -1 || e.dev != 0x2a {
		t.Errorf("%+v", e)
	}
}

func TestFSName(t *testing.T) {
	for magic, want := range map[int64]fsKind{0xEF53: fsLocal, 0x6969: fsNetwork, 0xFF534D42: fsNetwork, 0x65735546: fsVirtual, 0x794C7630: fsVirtual} {
		if _, k := fsName(magic); k != want {
			t.Errorf("0x%x: %v, want %v", magic, k, want)
		}
	}
}

// TestEveryBuiltCheckIsRegistered builds the checks for both drivers with every vector
// provider and requires each to have a registry entry (so that `doctor explain` covers it).
func TestEveryBuiltCheckIsRegistered(t *testing.T) {
	dir := t.TempDir()
	vdbs := []config.VectorDB{
		{ID: "q", Provider: "qdrant", URL: "grpc://127.0.0.1:1", Dimension: 8},
		{ID: "r", Provider: "redis", URL: "redis://127.0.0.1:1", Dimension: 8},
		{ID: "f", Provider: "filesystem", Path: filepath.Join(dir, "v"), Dimension: 8},
	}
	for _, cfg := range []*config.Config{
		{Database: config.Database{Driver: config.DriverSQLite, Path: filepath.Join(dir, "x.db")}, Knowledge: config.Knowledge{VectorDBs: vdbs}},
		{Database: config.Database{Driver: config.DriverSQLite, Path: config.MemoryPath}},
		{Database: config.Database{Driver: config.DriverPostgres, Host: "127.0.0.1", Port: 1},
			Knowledge: config.Knowledge{VectorDBs: append(vdbs, config.VectorDB{ID: "p", Provider: "pgvector", Dimension: 8})}},
	} {
		s := Build(cfg, nil, Inputs{Door: testDoor{}, Vector: testVectors{opts: vfactory.Options{Database: cfg.Database, Getenv: func(string) string { return "" }}}})
		for _, c := range s.Checks {
			if _, ok := doctor.Lookup(c.ID); !ok {
				t.Errorf("%s (%s) is not in doctor.Registry", c.ID, cfg.Database.Driver)
			}
		}
		s.Close()
	}
}
