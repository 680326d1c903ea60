package pgvector

import (
	"context"
	"strings"
	"testing"

	"compozy.dev/setup/core/vector"
)

// TestSQLFixesArePSQLCommands: every SQL fix of the store (create the table, its comment and
// index; create the index; create the extension) is a psql command naming the vector server,
// its URL without the password, the SQL quoted as one shell word; never a bare statement after
// a shell prompt. No server is needed: Open does not connect.
func TestSQLFixesArePSQLCommands(t *testing.T) {
	s, err := Open(context.Background(), Options{Entry: "main", Table: "compozy_vectors_x", Dimension: 4, Metric: vector.Cosine,
		ConnString: "postgres://app:hunter2@db.internal:5433/kb?sslmode=require"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	const server = `psql 'postgres://app@db.internal:5433/kb?sslmode=require' -c `
	create := s.createFix()
	want := []string{
		server + `'CREATE TABLE IF NOT EXISTS "compozy_vectors_x" (id text PRIMARY KEY, embedding vector(4) NOT NULL, payload jsonb NOT NULL DEFAULT '\''{}'\''::jsonb);'`,
		server + `'COMMENT ON TABLE "compozy_vectors_x" IS '\''compozy vectors: metric=cosine'\'';'`,
		server + `'CREATE INDEX IF NOT EXISTS "compozy_vectors_x_embedding_idx" ON "compozy_vectors_x" USING hnsw (embedding vector_cosine_ops);'`,
	}
	if strings.Join(create.Commands, "\n") != strings.Join(want, "\n") {
		t.Errorf("create commands:\n%s\nwant\n%s", strings.Join(create.Commands, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(create.Text, "run this SQL on the vector server db.internal:5433/kb") {
		t.Errorf("create text %q", create.Text)
	}
	idx := s.indexFix()
	if len(idx.Commands) != 1 || idx.Commands[0] != want[2] || !strings.Contains(idx.Text, "on the vector server db.internal:5433/kb") {
		t.Errorf("index fix %+v", idx)
	}
	for _, f := range []vector.Fix{create, idx} {
		if strings.Contains(f.Text+strings.Join(f.Commands, ""), "hunter2") {
			t.Error("the password reached a fix")
		}
	}
}
