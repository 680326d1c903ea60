package sqlitefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSideOwners: side files of the database's owner and group, or missing, pass; one of
// another owner is ErrSideOwner naming it and both owners (chown to another user needs root).
func TestCheckSideOwners(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	for _, p := range []string{db, db + WALSuffix} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	info, err := Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSideOwners(db, info, WALSuffix, SHMSuffix, JournalSuffix); err != nil {
		t.Fatalf("same owner: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	if err := os.Chown(db+WALSuffix, 4242, int(info.GID)); err != nil {
		t.Fatal(err)
	}
	err = CheckSideOwners(db, info, WALSuffix, SHMSuffix)
	if !errors.Is(err, ErrSideOwner) || !strings.Contains(err.Error(), "x.db-wal (uid 4242") {
		t.Fatalf("another owner: %v", err)
	}
	if err := CheckSideOwners(db, info, SHMSuffix); err != nil {
		t.Errorf("only the files asked about count: %v", err)
	}
}
