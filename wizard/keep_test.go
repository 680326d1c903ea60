package wizard

import (
	"strings"
	"testing"

	"compozy.dev/setup/templates"
)

// TestKeepDatabase: the database: section of the existing file comes back byte for byte, with
// its comments, while the vector DBs of the merged file stay.
func TestKeepDatabase(t *testing.T) {
	existing := "# top\nruntime:\n  max_concurrent_workflows: 10\ndatabase:\n  driver: sqlite # keep me\n  path: ./prod.db\n\nknowledge:\n  other: 1\n"
	merged, err := Merge([]byte(existing), templates.Data{Database: templates.Database{Driver: "sqlite", Path: "./data/compozy.db"},
		VectorDBs: []templates.VectorDB{{ID: "main", Provider: "filesystem", Path: "./data/vectors", Dimension: 8, Metric: "cosine"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(merged), "./data/compozy.db") {
		t.Fatalf("merge did not change the database:\n%s", merged)
	}
	out, err := KeepDatabase([]byte(existing), merged)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if !strings.Contains(got, "database:\n  driver: sqlite # keep me\n  path: ./prod.db\n") || strings.Contains(got, "./data/compozy.db") {
		t.Errorf("database section not kept:\n%s", got)
	}
	if !strings.Contains(got, "provider: filesystem") || !strings.HasPrefix(got, "# top\nruntime:\n  max_concurrent_workflows: 10\n") {
		t.Errorf("the rest changed:\n%s", got)
	}
}
