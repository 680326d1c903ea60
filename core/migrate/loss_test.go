package migrate

import (
	"testing"

	"compozy.dev/setup/migrations"
)

// TestDropsReadsEveryDownStep: the tables and columns each migration's down step drops are read
// from the embedded files of both dialects.
func TestDropsReadsEveryDownStep(t *testing.T) {
	for _, dialect := range []string{migrations.SQLite, migrations.Postgres} {
		fsys, err := migrations.FS(dialect)
		if err != nil {
			t.Fatal(err)
		}
		known, err := knownFrom(fsys)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, k := range known {
			ds, err := drops(fsys, k.File)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				got[d.Table+"."+d.Column] = true
			}
		}
		want := []string{"workflow_states.", "task_states.", "users.", "api_keys."}
		if dialect == migrations.Postgres {
			want = append(want, "api_keys.fingerprint")
		}
		for _, w := range want {
			if !got[w] {
				t.Errorf("%s: the down steps drop %s, not found in %v", dialect, w, got)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: found %v, want exactly %v", dialect, got, want)
		}
	}
}
