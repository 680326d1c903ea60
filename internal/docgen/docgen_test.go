package docgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateReplacesOnlyGeneratedParts(t *testing.T) {
	page := "# T\n\nprose\n\n<!-- BEGIN GENERATED: a -->\nold\n<!-- END GENERATED -->\n\nmore prose\n"
	got, err := Update(page, map[string]string{"a": "new\n"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# T\n\nprose\n\n<!-- BEGIN GENERATED: a -->\n\nnew\n\n<!-- END GENERATED -->\n\nmore prose\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if again, _ := Update(got, map[string]string{"a": "new\n"}); again != got {
		t.Error("Update is not idempotent")
	}
	for _, bad := range []string{
		"<!-- BEGIN GENERATED: nope -->\n<!-- END GENERATED -->\n",
		"<!-- BEGIN GENERATED: a -->\nno end\n",
	} {
		if _, err := Update(bad, map[string]string{"a": "x"}); err == nil {
			t.Errorf("Update(%q) succeeded", bad)
		}
	}
}

// TestStaleFindsAnEditedPart: a hand edit inside a generated part is reported, and Write
// restores it.
func TestStaleFindsAnEditedPart(t *testing.T) {
	blocks, err := Blocks()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var b strings.Builder
	for name := range blocks {
		b.WriteString("<!-- BEGIN GENERATED: " + name + " -->\n<!-- END GENERATED -->\n")
	}
	p := filepath.Join(dir, "p.md")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed, err := Write(dir); err != nil || len(changed) != 1 {
		t.Fatalf("Write: %v %v", changed, err)
	}
	if changed, err := Stale(dir); err != nil || len(changed) != 0 {
		t.Fatalf("after Write, Stale: %v %v", changed, err)
	}
	data, _ := os.ReadFile(p)
	edited := strings.Replace(string(data), "sqlite.lock", "sqlite.lok", 1)
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed, _ := Stale(dir); len(changed) != 1 {
		t.Fatalf("an edited part is not reported stale: %v", changed)
	}
}
