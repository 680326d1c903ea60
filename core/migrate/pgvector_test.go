package migrate

import (
	"testing"
	"testing/fstest"
)

// TestNoSchemaChange: the SQLite versions kept for parity with PostgreSQL (Up is SELECT 1) are
// marked, and nothing else is; a comment or an empty Down does not count as a statement.
func TestNoSchemaChange(t *testing.T) {
	for dialect, want := range map[string][]int64{
		"sqlite":   {20250711173300, 20250712120000, 20250916090000, 20251012060000, 20251016150000},
		"postgres": nil,
	} {
		known, err := Known(dialect)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, k := range known {
			if k.NoSchemaChange {
				got = append(got, k.Version)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: no schema change in %v, want %v", dialect, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: no schema change in %v, want %v", dialect, got, want)
			}
		}
	}
	fsys := fstest.MapFS{
		"1_a.sql": {Data: []byte("-- +goose Up\n-- a comment\nselect 1 ;\n-- +goose Down\nDROP TABLE x;\n")},
		"2_b.sql": {Data: []byte("-- +goose Up\nSELECT 1;\nCREATE INDEX i ON t (c);\n-- +goose Down\nSELECT 1;\n")},
		"3_c.sql": {Data: []byte("-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE t (c int);\n-- +goose StatementEnd\n")},
	}
	for file, want := range map[string]bool{"1_a.sql": true, "2_b.sql": false, "3_c.sql": false} {
		got, err := changesNoSchema(fsys, file)
		if err != nil || got != want {
			t.Errorf("%s: %v, %v; want %v", file, got, err, want)
		}
	}
}
