package factory

import "compozy.dev/setup/core/storage/sqlite"

// IsCorrupt reports whether err is SQLite's "database disk image is malformed" or "file is not
// a database", by its code.
func IsCorrupt(err error) bool { return sqlite.IsCorrupt(err) }
