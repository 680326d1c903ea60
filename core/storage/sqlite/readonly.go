package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// OpenReadOnly opens the database file at path for reading only, for commands that must change
// nothing (the doctor, `migrate status`): no journal-mode switch, no checkpoint, no write. When
// the database has no -wal or -journal file it is opened immutable, so SQLite does not even
// create -wal or -shm files; otherwise mode=ro reads the WAL another process keeps.
// A missing file is an error: read-only opening never creates it.
func OpenReadOnly(path string, busyTimeout time.Duration) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	q := "?mode=ro&_pragma=busy_timeout(" + millis(busyTimeout) + ")&_pragma=query_only(1)"
	if !exists(path+"-wal") && !exists(path+"-journal") {
		q += "&immutable=1"
	}
	dsn := "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() + q
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	return db, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
