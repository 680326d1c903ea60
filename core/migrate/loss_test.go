package migrate

import (
	"strings"
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

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		c       CheckResult
		missing bool
		want    Verdict
		msg     string
	}{
		{CheckResult{Versions: Versions{Current: 5, Latest: 5}}, false, VerdictUpToDate, "up to date at version 5"},
		{CheckResult{Versions: Versions{Current: 4, Latest: 5}, Pending: []Migration{{Version: 5}}}, false, VerdictPending, "1 migration pending"},
		{CheckResult{Versions: Versions{Latest: 5}, Pending: []Migration{{Version: 4}, {Version: 5}}}, true, VerdictPending, "does not exist yet: all 2 migrations"},
		{CheckResult{Versions: Versions{Current: 9, Latest: 5}, Unknown: []int64{9}, Newer: []int64{9}}, false, VerdictUnknownVersion, "newer than the latest"},
		{CheckResult{Versions: Versions{Current: 5, Latest: 5}, Unknown: []int64{3}}, false, VerdictUnknownVersion, "version 3 that this binary does not know"},
		{CheckResult{Versions: Versions{Current: 5, Latest: 5}, Problems: []string{"index x is INVALID"}}, false, VerdictProblem, "broken state: index x"},
	} {
		v, msg := tc.c.Verdict(tc.missing, "/x.db")
		if v != tc.want || !strings.Contains(msg, tc.msg) {
			t.Errorf("%+v: %s %q, want %s %q", tc.c, v, msg, tc.want, tc.msg)
		}
	}
}
