package main

import (
	"strings"
	"testing"
)

func TestReportNamesEverySkip(t *testing.T) {
	in := `{"Action":"start","Package":"p/a"}
{"Action":"run","Package":"p/a","Test":"TestOK"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"p/a","Test":"TestOK","Elapsed":0.01}
{"Action":"run","Package":"p/a","Test":"TestPG"}
{"Action":"output","Package":"p/a","Test":"TestPG","Output":"=== RUN   TestPG\n"}
{"Action":"output","Package":"p/a","Test":"TestPG","Output":"    pg_test.go:12: PostgreSQL is not running; set COMPOZY_TEST_POSTGRES_DSN\n"}
{"Action":"output","Package":"p/a","Test":"TestPG","Output":"--- SKIP: TestPG (0.00s)\n"}
{"Action":"skip","Package":"p/a","Test":"TestPG","Elapsed":0}
{"Action":"pass","Package":"p/a","Elapsed":0.5}
{"Action":"start","Package":"p/b"}
{"Action":"output","Package":"p/b","Test":"TestBad","Output":"    bad_test.go:3: boom\n"}
{"Action":"fail","Package":"p/b","Test":"TestBad","Elapsed":0}
{"Action":"fail","Package":"p/b","Elapsed":0.2}
{"Action":"skip","Package":"p/c","Elapsed":0}
`
	var b strings.Builder
	failed, err := report(strings.NewReader(in), &b)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	got := b.String()
	for _, want := range []string{"ok  \tp/a\t500ms", "boom", "FAIL\tp/b", "?   \tp/c\t[no test files]",
		"1 skipped:", "SKIP p/a TestPG: pg_test.go:12: PostgreSQL is not running; set COMPOZY_TEST_POSTGRES_DSN"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
