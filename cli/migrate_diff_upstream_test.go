package cli

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"compozy.dev/setup/doctor"
	"compozy.dev/setup/internal/testenv"
)

// A database made the way Compozy's own migrations make it (written from the facts in
// reference/upstream-schema.md: its columns, constraints, indexes, trigger and comment, laid out
// as Compozy lays them out, not as this binary's files do, and its goose_db_version rows) shows
// no drift: the comparison is at the version Compozy left (SQLite 20250711163858, PostgreSQL
// 20251016150000), and formatting, constraint names and ALTER-added constraints or columns
// do not count as differences.

// upstreamSQLiteVersions are the four versions Compozy's SQLite set records.
var upstreamSQLiteVersions = []int64{20250603124835, 20250603124915, 20250711163857, 20250711163858}

// upstreamSQLite is Compozy's SQLite schema, statement by statement.
var upstreamSQLite = []string{
	`CREATE TABLE IF NOT EXISTS workflow_states (
  workflow_exec_id TEXT NOT NULL PRIMARY KEY,
  workflow_id TEXT NOT NULL,
  status TEXT NOT NULL,
  usage TEXT,
  input TEXT,
  output TEXT,
  error TEXT,
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  updated_at TEXT NOT NULL DEFAULT (datetime('now')),
  CHECK (usage IS NULL OR json_type(usage) = 'array')
)`,
	`CREATE INDEX IF NOT EXISTS idx_workflow_states_status ON workflow_states(status)`,
	`CREATE INDEX IF NOT EXISTS idx_workflow_states_workflow_status ON workflow_states(workflow_id, status)`,
	`CREATE INDEX IF NOT EXISTS idx_workflow_states_created_at ON workflow_states(created_at)`,
	`CREATE INDEX IF NOT EXISTS idx_workflow_states_updated_at ON workflow_states(updated_at)`,

	`CREATE TABLE IF NOT EXISTS task_states (
  component TEXT NOT NULL, status TEXT NOT NULL,
  task_exec_id TEXT NOT NULL PRIMARY KEY,
  task_id TEXT NOT NULL, workflow_exec_id TEXT NOT NULL, workflow_id TEXT NOT NULL,
  execution_type TEXT NOT NULL DEFAULT 'basic',
  usage TEXT, agent_id TEXT, tool_id TEXT, action_id TEXT, parent_state_id TEXT,
  input TEXT, output TEXT, error TEXT,
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  updated_at TEXT NOT NULL DEFAULT (datetime('now')),
  FOREIGN KEY (workflow_exec_id)
    REFERENCES workflow_states (workflow_exec_id)
    ON DELETE CASCADE,
  FOREIGN KEY (parent_state_id)
    REFERENCES task_states (task_exec_id)
    ON DELETE CASCADE,
  CHECK (execution_type IN ('basic','router','parallel','collection','composite')),
  CHECK (
    (execution_type = 'basic' AND (
      (agent_id IS NOT NULL AND action_id IS NOT NULL AND tool_id IS NULL) OR
      (tool_id IS NOT NULL AND agent_id IS NULL AND action_id IS NULL) OR
      (agent_id IS NULL AND action_id IS NULL AND tool_id IS NULL)
    )) OR
    (execution_type = 'router' AND agent_id IS NULL AND action_id IS NULL AND tool_id IS NULL) OR
    (execution_type IN ('parallel', 'collection', 'composite'))
  ),
  CHECK (usage IS NULL OR json_type(usage) = 'array'),
  CHECK (input IS NULL OR json_valid(input)),
  CHECK (output IS NULL OR json_valid(output)),
  CHECK (error IS NULL OR json_valid(error))
)`,
	`CREATE INDEX IF NOT EXISTS idx_task_states_status ON task_states(status)`,
	`CREATE INDEX IF NOT EXISTS idx_task_states_workflow_id ON task_states(workflow_id)`,
	`CREATE INDEX IF NOT EXISTS idx_task_states_workflow_exec_id ON task_states(workflow_exec_id)`,
	`CREATE INDEX IF NOT EXISTS idx_task_states_task_id ON task_states(task_id)`,
	`CREATE INDEX IF NOT EXISTS idx_task_states_parent_state_id ON task_states(parent_state_id)`,
	`CREATE TRIGGER IF NOT EXISTS trg_task_states_updated_at
AFTER UPDATE OF component, status, task_id, workflow_exec_id, workflow_id,
  execution_type, usage, agent_id, tool_id, action_id, parent_state_id, input, output, error
ON task_states
FOR EACH ROW
BEGIN
  UPDATE task_states
     SET updated_at = datetime('now')
   WHERE task_exec_id = NEW.task_exec_id;
END`,

	`CREATE TABLE IF NOT EXISTS users (
  id TEXT NOT NULL PRIMARY KEY,
  email TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS idx_users_email_ci ON users(lower(email))`,
	`CREATE INDEX IF NOT EXISTS idx_users_role ON users(role)`,

	`CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL,
  hash BLOB NOT NULL,
  fingerprint BLOB NOT NULL,
  prefix TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  last_used TEXT,
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
)`,
	`CREATE INDEX IF NOT EXISTS idx_api_keys_hash ON api_keys(hash)`,
	`CREATE INDEX IF NOT EXISTS idx_api_keys_user_id ON api_keys(user_id)`,
	`CREATE INDEX IF NOT EXISTS idx_api_keys_created_at ON api_keys(created_at)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_fingerprint ON api_keys(fingerprint)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_prefix ON api_keys(prefix)`,
}

// upstreamPostgres is Compozy's PostgreSQL schema, migration by migration (version, statements).
var upstreamPostgres = []struct {
	version int64
	stmts   []string
}{
	{20250603124835, []string{
		`CREATE TABLE IF NOT EXISTS workflow_states (
  workflow_exec_id TEXT NOT NULL PRIMARY KEY,
  workflow_id TEXT NOT NULL,
  status TEXT NOT NULL,
  usage JSONB, input JSONB, output JSONB, error JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
)`,
		`ALTER TABLE workflow_states ADD CONSTRAINT chk_workflow_states_usage_json CHECK (usage IS NULL OR jsonb_typeof(usage) = 'array')`,
		`CREATE INDEX IF NOT EXISTS idx_workflow_states_status ON workflow_states(status)`,
		`CREATE INDEX IF NOT EXISTS idx_workflow_states_workflow_id ON workflow_states(workflow_id)`,
		`CREATE INDEX IF NOT EXISTS idx_workflow_states_workflow_status ON workflow_states(workflow_id, status)`,
		`CREATE INDEX IF NOT EXISTS idx_workflow_states_created_at ON workflow_states(created_at)`,
		`CREATE INDEX IF NOT EXISTS idx_workflow_states_updated_at ON workflow_states(updated_at)`,
	}},
	{20250603124915, append([]string{
		`CREATE TABLE IF NOT EXISTS task_states (
  component TEXT NOT NULL, status TEXT NOT NULL,
  task_exec_id TEXT NOT NULL PRIMARY KEY,
  task_id TEXT NOT NULL, workflow_exec_id TEXT NOT NULL, workflow_id TEXT NOT NULL,
  execution_type TEXT NOT NULL DEFAULT 'basic',
  usage JSONB, agent_id TEXT, tool_id TEXT, action_id TEXT, parent_state_id TEXT,
  input JSONB, output JSONB, error JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  CONSTRAINT fk_workflow FOREIGN KEY (workflow_exec_id) REFERENCES workflow_states(workflow_exec_id) ON DELETE CASCADE,
  CONSTRAINT fk_parent_task FOREIGN KEY (parent_state_id) REFERENCES task_states(task_exec_id) ON DELETE CASCADE,
  CONSTRAINT chk_execution_type_consistency CHECK (
    (execution_type = 'basic' AND (
      (agent_id IS NOT NULL AND action_id IS NOT NULL AND tool_id IS NULL) OR
      (tool_id IS NOT NULL AND agent_id IS NULL AND action_id IS NULL) OR
      (agent_id IS NULL AND action_id IS NULL AND tool_id IS NULL))) OR
    (execution_type = 'router' AND agent_id IS NULL AND action_id IS NULL AND tool_id IS NULL) OR
    (execution_type IN ('parallel','collection','composite')) OR
    (execution_type NOT IN ('parallel','collection','composite','basic','router'))
  ),
  CONSTRAINT chk_task_states_usage_json CHECK (usage IS NULL OR jsonb_typeof(usage) = 'array')
)`}, pgIndexes("task_states", [][2]string{
		{"idx_task_states_status", "status"}, {"idx_task_states_workflow_id", "workflow_id"},
		{"idx_task_states_workflow_exec_id", "workflow_exec_id"}, {"idx_task_states_task_id", "task_id"},
		{"idx_task_states_component", "component"}, {"idx_task_states_agent_id", "agent_id"},
		{"idx_task_states_tool_id", "tool_id"}, {"idx_task_states_action_id", "action_id"},
		{"idx_task_states_created_at", "created_at"}, {"idx_task_states_updated_at", "updated_at"},
		{"idx_task_states_execution_type", "execution_type"}, {"idx_task_states_parent_id", "parent_state_id"},
		{"idx_task_states_workflow_exec_id_task_id", "workflow_exec_id, task_id"},
		{"idx_task_states_workflow_exec_id_agent_id", "workflow_exec_id, agent_id"},
		{"idx_task_states_workflow_exec_id_tool_id", "workflow_exec_id, tool_id"},
		{"idx_task_states_workflow_id_task_id", "workflow_id, task_id"},
		{"idx_task_states_workflow_id_agent_id", "workflow_id, agent_id"},
		{"idx_task_states_workflow_id_tool_id", "workflow_id, tool_id"},
		{"idx_task_states_workflow_id_action_id", "workflow_id, action_id"},
		{"idx_task_states_workflow_exec_execution_type", "workflow_exec_id, execution_type"},
		{"idx_task_states_workflow_exec_status_execution", "workflow_exec_id, status, execution_type"},
		{"idx_task_states_parent_status", "parent_state_id, status"},
	})...)},
	{20250711163857, []string{
		`CREATE TABLE IF NOT EXISTS users (
  id TEXT NOT NULL PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS idx_users_email_ci ON users(lower(email))`,
		`CREATE INDEX IF NOT EXISTS idx_users_role ON users(role)`,
	}},
	{20250711163858, []string{
		`CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT NOT NULL PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash BYTEA NOT NULL,
  prefix TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  last_used TIMESTAMPTZ
)`,
		`CREATE INDEX IF NOT EXISTS idx_api_keys_hash ON api_keys(hash)`,
		`CREATE INDEX IF NOT EXISTS idx_api_keys_user_id ON api_keys(user_id)`,
		`CREATE INDEX IF NOT EXISTS idx_api_keys_created_at ON api_keys(created_at)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_prefix ON api_keys(prefix)`,
	}},
	{20250711173300, []string{
		`ALTER TABLE api_keys ADD COLUMN fingerprint BYTEA`,
		`UPDATE api_keys SET fingerprint = sha256(hash)`,
		`ALTER TABLE api_keys ALTER COLUMN fingerprint SET NOT NULL`,
		`CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_fingerprint ON api_keys(fingerprint)`,
		`COMMENT ON COLUMN api_keys.fingerprint IS 'SHA-256 hash of the bcrypt hash of the API key for O(1) lookups before bcrypt comparison'`,
	}},
	{20250712120000, []string{
		`CREATE INDEX IF NOT EXISTS idx_task_states_workflow_exec_id_parent_null ON task_states(workflow_exec_id) WHERE parent_state_id IS NULL`,
		`CREATE INDEX IF NOT EXISTS idx_task_states_parent_state_id_workflow_exec_id ON task_states(parent_state_id, workflow_exec_id)`,
	}},
	{20250916090000, []string{
		`CREATE INDEX IF NOT EXISTS idx_task_states_workflow_exec_id_status ON task_states(workflow_exec_id, status)`,
		`CREATE INDEX IF NOT EXISTS idx_task_states_parent_state_output_not_null ON task_states(parent_state_id) WHERE output IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS idx_task_states_parent_state_task_created_desc ON task_states(parent_state_id, task_id, created_at DESC)`,
	}},
	// Compozy creates the extension unconditionally (and fails where the server lacks it); the
	// fixture creates it where the server offers it.
	{20251012060000, []string{`DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN CREATE EXTENSION IF NOT EXISTS vector; END IF;
END $$`}},
	// Run outside a transaction, as goose's NO TRANSACTION does.
	{20251016150000, []string{`CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_task_states_task_exec_id ON task_states(task_exec_id)`}},
}

func pgIndexes(table string, idx [][2]string) []string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = "CREATE INDEX IF NOT EXISTS " + x[0] + " ON " + table + "(" + x[1] + ")"
	}
	return out
}

// makeUpstreamSQLite builds path as Compozy's SQLite migrations leave it: its four versions in
// goose_db_version (after goose's version-0 row), as goose's SQLite dialect records them.
func makeUpstreamSQLite(t *testing.T, path string) {
	t.Helper()
	db := openTestDB(t, "sqlite", path)
	defer db.Close()
	execAll(t, db, `CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL,
		is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))`,
		`INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1)`)
	execAll(t, db, upstreamSQLite...)
	for _, v := range upstreamSQLiteVersions {
		execAll(t, db, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (`+strconv.FormatInt(v, 10)+`, 1)`)
	}
}

// makeUpstreamPostgres builds the database dsn names as Compozy's PostgreSQL migrations leave
// it, recording each version in goose's table as its migration ends.
func makeUpstreamPostgres(t *testing.T, dsn string) {
	t.Helper()
	db := openTestDB(t, "pgx", dsn)
	defer db.Close()
	execAll(t, db, `CREATE TABLE goose_db_version (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
		version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now())`,
		`INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)`)
	for _, m := range upstreamPostgres {
		execAll(t, db, m.stmts...)
		execAll(t, db, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (`+strconv.FormatInt(m.version, 10)+`, true)`)
	}
}

func TestMigrateDiffUpstreamSQLite(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	path := filepath.Join(dir, "compozy.db")
	makeUpstreamSQLite(t, path)
	// Compozy's own database holds data; the comparison does not care.
	db := openTestDB(t, "sqlite", path)
	execAll(t, db, `INSERT INTO workflow_states (workflow_exec_id, workflow_id, status) VALUES ('w1', 'wf', 'RUNNING')`)
	_ = db.Close()
	run := func(args ...string) cliRun {
		return binRun(t, bin, dir, nil, append(args, "--db-driver", "sqlite", "--db-path", "./compozy.db")...)
	}
	r := upstreamNoDrift(t, run, "20250711163858")
	// The parity versions are pending above it; they are not drift.
	if !strings.Contains(r.out, "(5 migrations pending above it: not drift; 'compozy migrate status' lists them.)") {
		t.Errorf("migrate diff does not say what is pending:\n%s", r.out)
	}
	// This binary records the five versions Compozy's SQLite set lacks (they change no schema):
	// still no drift, now at the latest version.
	wantCode(t, run("migrate", "up"), 0, "migrate up")
	upstreamNoDrift(t, run, latestVersion)
}

func TestMigrateDiffUpstreamPostgres(t *testing.T) {
	t.Parallel()
	bin, dir := buildCompozy(t), t.TempDir()
	dsn := testenv.PostgresDB(t)
	makeUpstreamPostgres(t, dsn)
	run := func(args ...string) cliRun {
		return binRun(t, bin, dir, nil, append(args, "--db-driver", "postgres", "--db-conn-string", dsn)...)
	}
	upstreamNoDrift(t, run, latestVersion)
	r := run("migrate", "status", "--check")
	wantCode(t, r, 0, "migrate status --check")
}

// upstreamNoDrift asserts that migrate diff and doctor find no drift at version.
func upstreamNoDrift(t *testing.T, run func(args ...string) cliRun, version string) cliRun {
	t.Helper()
	r := run("migrate", "diff")
	wantCode(t, r, 0, "migrate diff (made by Compozy)")
	if !strings.Contains(r.out, "at version "+version+".\n") || !strings.Contains(r.out, "\nNo drift: the schema is the one the migrations make.\n") {
		t.Fatalf("migrate diff:\n%s", r.out)
	}
	d := parseDiff(t, run("migrate", "diff", "--json"))
	if d.Drifted || len(d.Drift) != 0 || strconv.FormatInt(d.DatabaseVersion, 10) != version {
		t.Fatalf("--json: %+v", d)
	}
	if res, r := driftCheck(t, run); res.Status != doctor.StatusPass {
		t.Fatalf("doctor: %s %s\n%s\n%s", res.Status, res.Summary, res.Detail, r.out)
	}
	return r
}
