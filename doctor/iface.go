package doctor

import (
	"context"

	"compozy.dev/setup/core/migrate"
)

// MigrationState reports how a database stands against the migrations this binary knows.
// *migrate.Migrator satisfies it.
type MigrationState interface {
	Check(ctx context.Context) (*migrate.CheckResult, error)
}

// TableProber reports which of Compozy's tables a database has.
type TableProber interface {
	MissingTables(ctx context.Context, tables []string) ([]string, error)
}

// CompozyTables returns the tables Compozy's schema creates.
func CompozyTables() []string { return []string{"workflow_states", "task_states", "users", "api_keys"} }
