package wizard

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"compozy.dev/setup/internal/testenv"
	"compozy.dev/setup/wizard/prompt"
)

func TestValidatePgvectorURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://vec@vec.internal:5433/vectors?sslmode=require", ""},
		{"postgresql://vec:${COMPOZY_VECTOR_PASSWORD}@10.0.0.9/v", ""},
		{"postgres://vec:S3cret@vec.internal/v", ""},
		{"postgres:///v?host=/var/run/postgresql", ""},
		{"", "starts with postgres://"},
		{"http://vec.internal:5432/v", "starts with postgres://"},
		{"host=vec.internal password=S3cret", "starts with postgres://"},
		{"postgres:///v", "names no host"},
		{"postgres://vec.internal:70000/v", "between 1 and 65535"},
		{"postgres://vec:se/cret@vec.internal/v", "not a valid URL"},
	} {
		err := ValidateVectorURL(ProviderPgvector, tc.url)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v, want %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "S3cret") {
			t.Errorf("%q: the error quotes the password: %v", tc.url, err)
		}
	}
	for in, want := range map[string]string{
		"postgres://vec:${COMPOZY_VECTOR_PASSWORD}@vec.internal:5433/vectors?sslmode=require": "vec.internal:5433/vectors",
		"postgresql://vec@10.0.0.9/v":            "10.0.0.9:5432/v",
		"postgres://[::1]:6000/v":                "[::1]:6000/v",
		"postgres:///v?host=/var/run/postgresql": "/var/run/postgresql/v",
		"":                                       "",
		"http://qdrant:6333":                     "",
	} {
		if got := PgvectorServer(in); got != want {
			t.Errorf("PgvectorServer(%q) = %q, want %q", in, got, want)
		}
	}
}

// pgvectorScript is production, 1-10, vectors, a server, "PostgreSQL I can add pgvector to",
// the recommendation (postgres + pgvector) accepted, and a connection string: the answers
// before "Where is pgvector?".
func pgvectorScript(conn string) []string {
	return []string{"5", "", "y", "y", "1", "", "2", conn}
}

// TestQuestionsPgvectorWhere: with PostgreSQL and pgvector the form asks where pgvector lives
// (the same PostgreSQL by default); another server's URL is asked next, its password moved to
// ${COMPOZY_VECTOR_PASSWORD}, and the comments name that server instead of "the PostgreSQL
// above". Going back to "the same" drops the URL.
func TestQuestionsPgvectorWhere(t *testing.T) {
	const secret = "Vx9Pw4Lq"
	conn := "postgres://app@db.internal:5432/app?sslmode=require"
	other := "postgres://vec:" + secret + "@vec.internal:5433/vectors?sslmode=require"

	ui, _, out, err := runScript(t, t.TempDir(), Options{DryRun: true}, append(pgvectorScript(conn), "", "")...)
	if err != nil {
		t.Fatal(err)
	}
	if ui.count("Where is pgvector?") != 1 || slices.Contains(ui.asked, "pgvector server URL") {
		t.Errorf("default: asked %q", ui.asked)
	}
	for _, want := range []string{"# Inside the PostgreSQL above (CREATE EXTENSION vector).", "vector search: pgvector, inside the same PostgreSQL"} {
		if !strings.Contains(out, want) {
			t.Errorf("default: lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "    url:") {
		t.Errorf("default: the pgvector entry has a url:\n%s", out)
	}

	ui, _, out, err = runScript(t, t.TempDir(), Options{DryRun: true}, append(pgvectorScript(conn), "2", other, "")...)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(ui.asked, "Where is pgvector?"); i < 0 || i+1 >= len(ui.asked) || ui.asked[i+1] != "pgvector server URL" {
		t.Errorf("another server: asked %q", ui.asked)
	}
	joined := testenv.JoinComments(out)
	for _, want := range []string{
		`url: "postgres://vec:${COMPOZY_VECTOR_PASSWORD}@vec.internal:5433/vectors?sslmode=require"`,
		"# On another PostgreSQL server, vec.internal:5433/vectors, not the database above (CREATE EXTENSION vector there).",
		"vector search: pgvector, on another PostgreSQL server, vec.internal:5433/vectors",
		"set COMPOZY_VECTOR_PASSWORD in the environment",
		`conn_string: "postgres://app@db.internal:5432/app?sslmode=require"`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("another server: lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"Inside the PostgreSQL above", "inside the same PostgreSQL", secret} {
		if strings.Contains(out, bad) || strings.Contains(ui.out.String(), bad) {
			t.Errorf("another server: shows %q:\n%s\n%s", bad, out, ui.out.String())
		}
	}

	// Back from the URL to the question, and the same PostgreSQL after all.
	ui, _, out, err = runScript(t, t.TempDir(), Options{DryRun: true}, append(pgvectorScript(conn), "2", other, "<back>", "<back>", "1", "")...)
	if err != nil {
		t.Fatal(err)
	}
	if ui.count("Where is pgvector?") != 2 || !strings.Contains(out, "# Inside the PostgreSQL above") || strings.Contains(out, "vec.internal") {
		t.Errorf("back to the same: asked %q\n%s", ui.asked, out)
	}

	// Not asked where pgvector is not the vector DB, nor when --vector-url named the server.
	ui, _, _, err = runScript(t, t.TempDir(), Options{DryRun: true}, "5", "", "n", "y", "", "2", conn)
	if err != nil || slices.Contains(ui.asked, "Where is pgvector?") {
		t.Errorf("no vectors: %v, asked %q", err, ui.asked)
	}
}

// viewUI records what each question shows (its description too) before the script answers it.
type viewUI struct {
	*scriptUI
	views map[string]string
}

func (u *viewUI) Ask(ctx context.Context, q prompt.Question) (prompt.Outcome, error) {
	q.Field.Init()
	u.views[q.Title] += q.Field.View() + "\n"
	return u.scriptUI.Ask(ctx, q)
}

// TestQuestionsNoPgvectorPointsElsewhere: on a PostgreSQL without pgvector the connection test
// fails with the server's reason, and the failure's first choice is another server for
// pgvector (the URL question), its description naming --vector-url for scripted runs; without
// questions the error names --vector-url.
func TestQuestionsNoPgvectorPointsElsewhere(t *testing.T) {
	dsn := testenv.PostgresDB(t) // this server has no pgvector
	dir := t.TempDir()
	ui := &viewUI{scriptUI: &scriptUI{t: t}, views: map[string]string{}}
	// The same PostgreSQL; the test fails: another server (the same one: it fails again); quit.
	ui.answers = append(pgvectorScript(dsn), "1", "", "1", dsn, "4")
	var out, errOut bytes.Buffer
	env := Env{Target: Target{Path: filepath.Join(dir, "compozy.yaml"), Shown: "compozy.yaml"},
		Load: LoadEnv{WorkDir: dir, Getenv: func(string) string { return "" }}, Out: &out, ErrOut: &errOut}
	_, err := NewRun(env, Options{Interactive: true, Accessible: true}, ui, Answers{}, DefaultSettings(), Given{}, "").Do(t.Context())
	var quit *QuitError
	if !asQuit(err, &quit) {
		t.Fatalf("err %v; asked %q\n%s", err, ui.asked, ui.out.String())
	}
	if len(ui.answers) > 0 {
		t.Errorf("answers left over: %q (asked %q)", ui.answers, ui.asked)
	}
	if !strings.Contains(ui.out.String(), `pg_available_extensions has no "vector"`) {
		t.Errorf("the test does not say the server lacks pgvector:\n%s", ui.out.String())
	}
	i := slices.Index(ui.asked, "The connection test failed.")
	if i < 0 || ui.asked[i+1] != "pgvector server URL" || countOf(ui.asked, "The connection test failed.") != 2 {
		t.Errorf("asked %q", ui.asked)
	}
	view := ui.views["The connection test failed."]
	for _, want := range []string{"Use another PostgreSQL server for pgvector", "--vector-url", "Change the answers", "Write anyway", "Quit without writing"} {
		if !strings.Contains(view, want) {
			t.Errorf("the failure choice lacks %q:\n%s", want, view)
		}
	}

	// Without questions: the same failure names --vector-url.
	a := Answers{UseCase: UseProduction, Workflows: Workflows1to10, Vectors: true, Server: true, Available: AvailPgvector}
	g := Given{UseCase: true, Workflows: true, Vectors: true, Server: true, Available: true, ConnString: true}
	s := DefaultSettings()
	s.ConnString = dsn
	_, err = NewRun(env, Options{Yes: true}, &scriptUI{t: t}, a, s, g, "").Do(t.Context())
	var failed *FailedError
	if !errors.As(err, &failed) || !strings.Contains(err.Error(), "--vector-url postgres://USER@HOST:5432/DB") {
		t.Errorf("without questions: %v", err)
	}
}
