package doctor

// Check groups, in the order reports show them.
const (
	GroupConfig     = "config"
	GroupSQLite     = "sqlite"
	GroupPostgres   = "postgres"
	GroupMigrations = "migrations"
	GroupStorage    = "storage"
	GroupVector     = "vector"
)

// Groups lists the groups in report order.
func Groups() []string {
	return []string{GroupConfig, GroupSQLite, GroupPostgres, GroupMigrations, GroupStorage, GroupVector}
}

// Check IDs. They are stable: scripts filter on them and docs link to them.
const (
	IDConfigFile        = "config.file"
	IDConfigKeys        = "config.keys"
	IDConfigVars        = "config.vars"
	IDConfigVector      = "config.vector"
	IDConfigSecrets     = "config.secrets"
	IDConfigConcurrency = "config.concurrency"

	IDSQLiteMemory      = "sqlite.memory"
	IDSQLiteFolder      = "sqlite.folder"
	IDSQLiteFile        = "sqlite.file"
	IDSQLitePermissions = "sqlite.permissions"
	IDSQLiteFilesystem  = "sqlite.filesystem"
	IDSQLiteDisk        = "sqlite.disk"
	IDSQLiteJournal     = "sqlite.journal_mode"
	IDSQLiteBusy        = "sqlite.busy_timeout"
	IDSQLiteSynchronous = "sqlite.synchronous"
	IDSQLiteIntegrity   = "sqlite.integrity"
	IDSQLiteSize        = "sqlite.size"
	IDSQLiteLock        = "sqlite.lock"

	IDPostgresConnect     = "postgres.connect"
	IDPostgresVersion     = "postgres.version"
	IDPostgresReadOnly    = "postgres.read_only"
	IDPostgresPrivileges  = "postgres.privileges"
	IDPostgresConnections = "postgres.connections"
	IDPostgresClock       = "postgres.clock"
	IDPostgresLatency     = "postgres.latency"
	IDPostgresPooler      = "postgres.pooler"
	IDPostgresLocks       = "postgres.locks"
	IDPostgresTLS         = "postgres.tls"

	IDMigrationsTable   = "migrations.tables"
	IDMigrationsPending = "migrations.pending"
	IDMigrationsNewer   = "migrations.newer"
	IDMigrationsDirty   = "migrations.dirty"
	IDMigrationsDrift   = "migrations.drift"

	IDStorageRoundTrip      = "storage.roundtrip"
	IDStorageCopyIncomplete = "storage.copy_incomplete"

	IDVectorProvider          = "vector.provider"
	IDVectorQdrantReachable   = "vector.qdrant.reachable"
	IDVectorQdrantCollection  = "vector.qdrant.collection"
	IDVectorRedisReachable    = "vector.redis.reachable"
	IDVectorRedisModule       = "vector.redis.module"
	IDVectorRedisIndex        = "vector.redis.index"
	IDVectorPgvectorReachable = "vector.pgvector.reachable"
	IDVectorPgvectorExtension = "vector.pgvector.extension"
	IDVectorPgvectorTable     = "vector.pgvector.table"
	IDVectorPgvectorIndex     = "vector.pgvector.index"
	IDVectorFilesystemFolder  = "vector.filesystem.folder"
	IDVectorFilesystemData    = "vector.filesystem.data"
	IDVectorDimension         = "vector.dimension"
	IDVectorMetric            = "vector.metric"
)

// Registry returns every check compozy doctor knows, in report order. The slice is new on
// every call.
func Registry() []Info {
	dbConn := []string{IDSQLiteFile, IDPostgresConnect}
	return []Info{
		{ID: IDConfigFile, Group: GroupConfig, Title: "Config file found and parsed", Explain: Explain{
			Symptom: "compozy exits with a config error, or uses defaults you did not expect.",
			Cause:   "The file named by --config or COMPOZY_CONFIG_FILE does not exist or cannot be read, or compozy.yaml is not valid YAML. Without a file, compozy uses defaults, the environment and flags only.",
			Fix:     "Check the path and the YAML at the file:line the check prints; run 'compozy config validate'.",
		}},
		{ID: IDConfigKeys, Group: GroupConfig, Title: "Database and vector keys valid", Explain: Explain{
			Symptom: "Startup fails with 'unknown key', 'expected integer' or an invalid value.",
			Cause:   "A key in the database: or knowledge.vector_dbs: sections is misspelt, has the wrong type, or a value outside its allowed set.",
			Fix:     "Correct the key at the file:line printed (the message suggests the closest key); 'compozy config schema' prints every valid key.",
		}},
		{ID: IDConfigVars, Group: GroupConfig, Title: "Referenced environment variables set", Explain: Explain{
			Symptom: "'environment variable DB_PASSWORD is not set', or a connection without a password.",
			Cause:   "The config refers to ${VAR} and VAR is not set in the environment compozy runs in (a service unit, a container, CI).",
			Fix:     "Export the variable where compozy runs, or give a default: ${VAR:-value}.",
		}},
		{ID: IDConfigVector, Group: GroupConfig, Title: "Driver and vector DB combination valid", Explain: Explain{
			Symptom: "'pgvector provider is incompatible with SQLite driver', or knowledge bases that do nothing.",
			Cause:   "pgvector lives inside PostgreSQL, so it cannot serve a SQLite installation; SQLite has no vector search of its own, so without a vector DB knowledge bases do not work.",
			Fix:     "With driver sqlite use provider qdrant, redis or filesystem under knowledge.vector_dbs, or switch to driver postgres.",
		}},
		{ID: IDConfigSecrets, Group: GroupConfig, Title: "No plaintext password readable by others", Explain: Explain{
			Symptom: "A password sits in compozy.yaml, and other users of the machine can read it.",
			Cause:   "The config file holds a password (database.password, a conn_string or a vector URL with a password) and its mode lets the group or others read it.",
			Fix:     "Write ${COMPOZY_DB_PASSWORD} in the file and set the variable in the environment; or at least chmod 600 the file.",
		}, Fixable: true},
		{ID: IDConfigConcurrency, Group: GroupConfig, Title: "Concurrency suits the driver", Explain: Explain{
			Symptom: "'database is locked' or slow workflows under load with SQLite.",
			Cause:   "runtime.max_concurrent_workflows is above what was measured safe for SQLite in one process.",
			Fix:     "Lower runtime.max_concurrent_workflows, or use driver postgres for heavy concurrency.",
		}},

		{ID: IDSQLiteMemory, Group: GroupSQLite, Title: "Database kept on disk", Explain: Explain{
			Symptom: "Workflow history is gone after a restart.",
			Cause:   "path: \":memory:\" keeps the database in the process's memory; it is lost when compozy exits.",
			Fix:     "Set database.path to a file, for example ./data/compozy.db, for anything but tests.",
		}},
		{ID: IDSQLiteFolder, Group: GroupSQLite, Title: "Database folder exists and is writable", Explain: Explain{
			Symptom: "'unable to open database file' or 'attempt to write a readonly database' although the file itself is writable.",
			Cause:   "SQLite creates the -wal and -shm files (and rollback journals) next to the database, so the folder must exist and be writable by the user compozy runs as. Right after compozy init the folder may not exist yet: that is a warning, not a failure, when compozy migrate up can create it.",
			Fix:     "Run compozy migrate up, which creates a missing folder with the database; or create the folder and give the service user write access: mkdir -p DIR && chown USER DIR && chmod 750 DIR.",
		}, Fixable: true},
		{ID: IDSQLiteFile, Group: GroupSQLite, Title: "Database file is a readable SQLite database", DependsOn: []string{IDSQLiteFolder}, Fixable: true, Explain: Explain{
			Symptom: "'file is not a database', 'database disk image is malformed', 'unable to open database file', 'attempt to write a readonly database' from a read, or 'disk I/O error' where the path is a folder.",
			Cause: "The path points at something that is not a SQLite database (another file, a truncated copy, a partial download, a folder), or compozy cannot read it. " +
				"A process that crashed in the middle of a write leaves a hot rollback journal (-journal) that must be rolled back before anything can read the file; a -wal without its -shm cannot be read without creating one. " +
				"A file with several hard links is one database under several names, and SQLite keeps a -wal and -journal per name: writing through two of them corrupts it, so compozy refuses to write until one name is left. " +
				"Run as root, SQLite gives every -wal, -shm and -journal it opens to the database's owner, even to read; compozy refuses to read side files of another owner as root rather than change their owner. " +
				"An empty database file beside a non-empty -wal holds its data in the -wal only: the first open for writing would delete it. " +
				"A file that does not exist yet (nothing was migrated) is the next step, not a failure; but when its -wal, -journal or migration lock, or another SQLite database, is in the folder, a database was there and the check fails.",
			Fix: "Point database.path at the right file, restore it from a backup, or move the broken file away and let 'compozy migrate up' create a new one. " +
				"A hot journal or a lone -wal is recovered by the next writer: 'compozy migrate up', or 'compozy doctor --fix'. Remove the extra hard links (find / -xdev -samefile FILE). " +
				"Run the doctor as the user Compozy runs as (or chown the side files to the database's owner). Copy an empty file and its -wal away together before anything opens them.",
		}},
		{ID: IDSQLitePermissions, Group: GroupSQLite, Title: "Database file private and owned by this user", DependsOn: []string{IDSQLiteFile}, Explain: Explain{
			Symptom: "Other users can read workflow data, or compozy cannot write its own database ('attempt to write a readonly database' while reads work).",
			Cause:   "The database holds workflow inputs and outputs; a mode that lets others read it leaks them, and a database, -wal or -shm file this user (or the owner, when root runs the doctor) cannot write, such as one owned by another user or mode 0400, makes every write fail.",
			Fix:     "chmod 600 the database (and its -wal/-shm files) and chown it to the user compozy runs as.",
		}, Fixable: true},
		{ID: IDSQLiteFilesystem, Group: GroupSQLite, Title: "Filesystem safe for SQLite", DependsOn: []string{IDSQLiteFolder}, Explain: Explain{
			Symptom: "Corruption or 'database is locked' that never clears, on NFS, SMB/CIFS, FUSE or overlay mounts; a database (and the backups next to it) gone after a reboot, on tmpfs or ramfs.",
			Cause:   "WAL needs shared memory and working POSIX locks; network and some virtual filesystems do not provide them reliably. tmpfs and ramfs provide them but keep files in memory only, so a reboot erases them.",
			Fix:     "Keep the database on a local, disk-backed filesystem (ext4, xfs, btrfs, zfs, apfs; not tmpfs or ramfs), or use PostgreSQL.",
		}},
		{ID: IDSQLiteDisk, Group: GroupSQLite, Title: "Enough free disk space", DependsOn: []string{IDSQLiteFolder}, Explain: Explain{
			Symptom: "'database or disk is full', failed migrations or VACUUM.",
			Cause:   "SQLite needs room for the WAL, for migrations and for VACUUM (up to twice the database size).",
			Fix:     "Free space on the volume or move the database to a larger one.",
		}},
		{ID: IDSQLiteJournal, Group: GroupSQLite, Title: "Journal mode is WAL", DependsOn: []string{IDSQLiteFile}, Explain: Explain{
			Symptom: "'database is locked' while workflows run concurrently.",
			Cause:   "In rollback journal modes (delete, truncate, persist) a writer blocks every reader; WAL lets readers continue while one writer writes.",
			Fix:     "Set database.journal_mode: wal; compozy doctor --fix switches the file to WAL.",
		}, Fixable: true},
		{ID: IDSQLiteBusy, Group: GroupSQLite, Title: "busy_timeout set", Explain: Explain{
			Symptom: "'database is locked' at once, even though the lock would be free a moment later.",
			Cause:   "With busy_timeout 0 a connection fails immediately when another holds the lock instead of waiting.",
			Fix:     "Set database.busy_timeout: 5s (or more).",
		}},
		{ID: IDSQLiteSynchronous, Group: GroupSQLite, Title: "synchronous keeps the database consistent", Explain: Explain{
			Symptom: "A corrupt database after a power loss or crash.",
			Cause:   "synchronous OFF hands writes to the OS without waiting; a crash can corrupt the file.",
			Fix:     "Set database.synchronous: normal (with WAL) or full.",
		}},
		{ID: IDSQLiteIntegrity, Group: GroupSQLite, Title: "PRAGMA quick_check", DependsOn: []string{IDSQLiteFile}, Explain: Explain{
			Symptom: "'database disk image is malformed', wrong query results, crashes on some rows.",
			Cause:   "The file was damaged: copied while written, stored on an unsafe filesystem, a disk fault. quick_check reads every page, so its time grows with the database: the default run checks a database (with its -wal) up to 24 MB and skips a larger one, saying its size and how long the check would take; 'compozy doctor --deep' checks any size, with no time limit unless --timeout is given.",
			Fix:     "Run 'compozy doctor --deep' for a large database. Restore a damaged one from a backup; or dump what is readable: sqlite3 DB .recover | sqlite3 NEW.db.",
		}},
		{ID: IDSQLiteSize, Group: GroupSQLite, Title: "Database size, free pages and WAL", DependsOn: []string{IDSQLiteFile}, Explain: Explain{
			Symptom: "The database file is much larger than its data, or its -wal file keeps growing.",
			Cause:   "Deleted rows leave free pages that SQLite reuses but does not give back to the filesystem (a warning above 64 MB and a quarter of the file). A process that keeps a read transaction open (a sqlite3 shell left in BEGIN, a long query, a backup tool) keeps every checkpoint from copying the WAL past its snapshot and from starting the WAL over, so the WAL grows with every write; the check names that process (PID and command line) where /proc/locks shows its read lock.",
			Fix:     "Run 'compozy db vacuum' while Compozy is stopped. End the read transaction of the process the check names; the next checkpoint catches up.",
		}},
		{ID: IDSQLiteLock, Group: GroupSQLite, Title: "No other process holds the write lock", DependsOn: []string{IDSQLiteFile}, Explain: Explain{
			Symptom: "'database is locked' after busy_timeout, or migrations that wait forever.",
			Cause:   "Another process (a running compozy, a sqlite3 shell left in a transaction, a backup tool) holds SQLite's write lock or the migration lock file <db>.migrate.lock.",
			Fix:     "Finish or stop the process the check names (PID and command line); do not delete the -wal or -shm files while it runs.",
		}},

		{ID: IDPostgresConnect, Group: GroupPostgres, Title: "PostgreSQL connection", Explain: Explain{
			Symptom: "compozy cannot reach PostgreSQL: 'connection refused', 'no such host', 'password authentication failed', 'database does not exist', a timeout.",
			Cause:   "One step of the connection fails: DNS, TCP (server down, wrong port, firewall), TLS (ssl_mode the server does not accept), authentication (password, pg_hba.conf), or the database or role does not exist.",
			Fix: "The check names the step; fix that one: the host, the port, database.ssl_mode, the password (COMPOZY_DB_PASSWORD), or create the database/role (createdb; CREATE ROLE, which the check prints as a psql command for the server it names, the URL without its password). " +
				"A TLS file conn_string names that cannot be used is named by its key and path: an sslrootcert, sslcert or sslkey that cannot be read or holds no PEM certificate or key (point sslrootcert at the server's CA certificate in PEM), a certificate and key that are not a pair.",
		}},
		{ID: IDPostgresVersion, Group: GroupPostgres, Title: "Server version supported", DependsOn: []string{IDPostgresConnect}, Explain: Explain{
			Symptom: "Migrations fail with syntax errors or missing functions.",
			Cause:   "Compozy's schema needs PostgreSQL 13 or newer (15+ recommended).",
			Fix:     "Upgrade the server.",
		}},
		{ID: IDPostgresReadOnly, Group: GroupPostgres, Title: "Server accepts writes", DependsOn: []string{IDPostgresConnect}, Explain: Explain{
			Symptom: "'cannot execute INSERT in a read-only transaction'.",
			Cause:   "The target is a hot standby (pg_is_in_recovery() is true) or the database defaults to read-only transactions.",
			Fix:     "Point compozy at the primary, not a replica; for a database or role that defaults to read-only, ALTER ROLE role SET default_transaction_read_only = off, which the check prints as a psql command for the server it names (psql 'postgres://user@host:port/db' -c '...;', the URL without its password).",
		}},
		{ID: IDPostgresPrivileges, Group: GroupPostgres, Title: "Role may create tables", DependsOn: []string{IDPostgresConnect}, Explain: Explain{
			Symptom: "'permission denied for schema public' during migrations.",
			Cause:   "PostgreSQL 15 removed CREATE on the public schema from ordinary roles; the role needs CREATE on the schema it migrates.",
			Fix:     "As the owner or a superuser: GRANT CREATE ON SCHEMA public TO role; or ALTER DATABASE db OWNER TO role. The check prints the GRANT as a psql command for the server it names, connecting as postgres (psql 'postgres://postgres@host:port/db' -c 'GRANT ...;', the URL without its password).",
		}},
		{ID: IDPostgresConnections, Group: GroupPostgres, Title: "Connection budget", DependsOn: []string{IDPostgresConnect}, Explain: Explain{
			Symptom: "'sorry, too many clients already' or 'remaining connection slots are reserved'.",
			Cause:   "Every compozy process opens up to database.max_open_conns connections. The budget is the number of processes (--replicas N or COMPOZY_REPLICAS, 1 by default) times max_open_conns, plus the connections other clients hold now, against max_connections minus superuser_reserved_connections (and reserved_connections on PostgreSQL 16+): a warning above 80 %, a failure above 100 %, with the numbers.",
			Fix:     "Lower database.max_open_conns, raise max_connections (a server restart), or put PgBouncer in front and size its pool to the server.",
		}},
		{ID: IDPostgresClock, Group: GroupPostgres, Title: "Clocks agree", DependsOn: []string{IDPostgresConnect}, Explain: Explain{
			Symptom: "Timestamps out of order, schedules that fire late or early.",
			Cause:   "This host's clock and the database server's clock differ.",
			Fix:     "Run NTP (chrony, systemd-timesyncd) on both hosts.",
		}},
		{ID: IDPostgresLatency, Group: GroupPostgres, Title: "Round-trip latency", DependsOn: []string{IDPostgresConnect}, Explain: Explain{
			Symptom: "Every workflow step is slow.",
			Cause:   "Each query pays the network round trip; a far-away database multiplies it.",
			Fix:     "Run compozy close to the database (same region or host).",
		}},
		{ID: IDPostgresPooler, Group: GroupPostgres, Title: "No transaction pooler in the way", DependsOn: []string{IDPostgresConnect}, Explain: Explain{
			Symptom: "'prepared statement \"stmtcache_...\" already exists' (SQLSTATE 42P05) or 'does not exist' (26000); migrations that run twice at once or wait for a lock nobody holds.",
			Cause:   "A transaction pooler (PgBouncer with pool_mode transaction, Supabase's pooler on port 6543, Neon's -pooler hosts) hands each transaction to any server session, so session state does not last: session advisory locks (goose's migration lock), SET, and named prepared statements (pgx's default statement cache). PGlite shares one session among all its clients, with the same effect. compozy finds it by the host and port, by pg_backend_pid() changing or being shared, and by PgBouncer's admin console (SHOW VERSION).",
			Fix:     "Run migrations through the server's direct URL (compozy migrate refuses the pooled one, changing nothing). The pooled URL needs no default_query_exec_mode: compozy's storage and its pgvector stores choose simple_protocol by themselves when they find the pooler and the conn_string does not choose a mode (one written there is kept).",
		}},

		{ID: IDPostgresLocks, Group: GroupPostgres, Title: "No session blocks Compozy's tables", DependsOn: []string{IDPostgresConnect}, Fixable: true, Explain: Explain{
			Symptom: "Workflows hang on PostgreSQL, migrations wait forever, or statements fail with 'canceling statement due to lock timeout' (SQLSTATE 55P03).",
			Cause: "Another session holds a lock on one of Compozy's tables that stops reads or writes (LOCK TABLE, a long ALTER TABLE or CREATE INDEX, a transaction left open by a psql shell or a crashed worker), or keeps other sessions waiting (pg_blocking_pids). " +
				"The check names each one: PID, application_name, client address, state, how long its transaction has been open, and its query. A session idle in a transaction for more than 5 minutes is a warning: it holds its locks the whole time. " +
				"The doctor's own statements wait at most 2 s for a lock (lock_timeout), so a run ends within its timeout.",
			Fix: "End the transaction in the program the check names (COMMIT or ROLLBACK), or stop it. 'compozy doctor --fix --terminate' ends the named sessions with pg_terminate_backend: on a terminal it asks first, every time; without a terminal it needs --terminate --yes. --fix or --yes alone never terminates a session. " +
				"The check prints pg_terminate_backend(PID) as psql commands for the server it names (psql 'postgres://user@host:port/db' -c 'SELECT pg_terminate_backend(PID);', the URL without its password). " +
				"Set idle_in_transaction_session_timeout so that forgotten transactions end by themselves.",
		}},
		{ID: IDPostgresTLS, Group: GroupPostgres, Title: "Connection encrypted and the certificate valid", Explain: Explain{
			Symptom: "Passwords and workflow data cross the network in clear text; 'x509: certificate signed by unknown authority', 'certificate is valid for X, not Y', or a certificate that expires.",
			Cause: "ssl_mode below require (disable, allow, prefer) lets the connection run unencrypted, and require does not check who answers: for a host that is not this machine that is a warning. " +
				"With TLS the check shows the server certificate's subject, issuer and days to expiry (a warning under 30 days, a failure once expired), and verifies it as verify-ca or verify-full would: with sslrootcert, or the system's CAs.",
			Fix: "Use ssl_mode: verify-full with the CA that signed the server's certificate: sslrootcert=/path/to/root.crt in conn_string. When the certificate names another host than the one compozy connects to, connect by a name the certificate holds, or reissue it with this name in its subjectAltName. Renew a certificate before it expires.",
		}},

		{ID: IDMigrationsTable, Group: GroupMigrations, Title: "Compozy tables exist", DependsOn: dbConn, Explain: Explain{
			Symptom: "'no such table: workflow_states' (SQLite) or 'relation \"workflow_states\" does not exist' (PostgreSQL).",
			Cause:   "The migrations were never applied to this database, or the config points at another database.",
			Fix:     "Run 'compozy migrate up', or check database.path / database.name.",
		}, Fixable: true},
		{ID: IDMigrationsPending, Group: GroupMigrations, Title: "No pending migrations", DependsOn: dbConn, Explain: Explain{
			Symptom: "Features fail with missing columns or tables after an upgrade.",
			Cause:   "This binary knows migrations the database has not applied. With auto_migrate on, Compozy applies them at start (a warning); with it off, nothing will (a failure).",
			Fix:     "Run 'compozy migrate up' (compozy doctor --fix does it).",
		}, Fixable: true},
		{ID: IDMigrationsNewer, Group: GroupMigrations, Title: "Database not newer than this binary", DependsOn: dbConn, Explain: Explain{
			Symptom: "'database is newer than this binary', or an older compozy misbehaving after a newer one ran.",
			Cause:   "A newer (or different) Compozy build migrated this database to versions this binary does not know.",
			Fix:     "Upgrade compozy to the version that migrated the database; never downgrade the schema from an older build.",
		}},
		{ID: IDMigrationsDirty, Group: GroupMigrations, Title: "No failed or partial migration", DependsOn: dbConn, Explain: Explain{
			Symptom: "Migrations refuse to run, or an index is missing after an interrupted migration.",
			Cause:   "A migration failed half way (an invalid index left by CREATE INDEX CONCURRENTLY) or versions are applied out of order.",
			Fix:     "Follow the printed steps: drop the invalid index and run 'compozy migrate up' again.",
		}},
		{ID: IDMigrationsDrift, Group: GroupMigrations, Title: "Schema matches the migrations (no drift)", DependsOn: []string{IDMigrationsTable, IDMigrationsNewer}, Fixable: true, Explain: Explain{
			Symptom: "Queries that were fast turn slow (a missing index), updated_at stops changing on SQLite (a changed trigger), or a column or constraint is not what Compozy expects, although 'migrate status' says the database is up to date.",
			Cause:   "Someone changed the schema by hand, or a restore or another tool left it different: migrations.pending compares version numbers, this check compares the schema itself with the one this binary's migrations make at the database's version (built in an in-memory database for SQLite, in a scratch schema of a rolled-back transaction for PostgreSQL; nothing is written).",
			Fix:     "Run 'compozy migrate diff' to see every difference and its SQL. 'compozy doctor --fix' recreates missing indexes and triggers (CREATE INDEX, CREATE TRIGGER; a SQLite file with rows is backed up first) and drops nothing: extra columns, indexes and triggers are reported and left in place; a changed trigger or column is printed with the SQL for a person to run.",
		}},

		{ID: IDStorageRoundTrip, Group: GroupStorage, Title: "Write and read back (rolled back)", DependsOn: []string{IDMigrationsTable, IDMigrationsPending, IDMigrationsNewer, IDSQLiteLock, IDPostgresReadOnly}, Explain: Explain{
			Symptom: "Workflows fail to save although the database answers.",
			Cause:   "The schema, constraints or privileges do not let Compozy write its state. The check writes a workflow with two tasks, reads them back and rolls back; on SQLite it does so on an in-memory copy of the file's schema, because even a rolled-back write creates -wal and -shm files beside the database, and the doctor only reads.",
			Fix:     "Read the error the check prints; usually 'compozy migrate up' or a GRANT on the tables.",
		}},
		{ID: IDStorageCopyIncomplete, Group: GroupStorage, Title: "No unfinished db copy", DependsOn: dbConn, Explain: Explain{
			Symptom: "Workflows, tasks or users are missing after moving to this database with compozy db copy.",
			Cause:   "A compozy db copy into this database was interrupted or failed its verification: its tables hold part of the source's rows. The copy marks the target with the table compozy_db_copy_incomplete until the verification passes.",
			Fix:     "Run the same compozy db copy again with --force: it replaces what the unfinished copy wrote and verifies every table.",
		}},

		{ID: IDVectorProvider, Group: GroupVector, Title: "Vector DB provider valid", Explain: Explain{
			Symptom: "Knowledge bases fail to index or search; 'pgvector provider is incompatible with SQLite driver'.",
			Cause:   "The provider is unknown, the entry is incomplete, or the provider cannot work with the database driver (pgvector lives in PostgreSQL).",
			Fix:     "Use qdrant, redis or filesystem with SQLite; pgvector, qdrant, redis or filesystem with PostgreSQL; give every entry a dimension.",
		}},
		{ID: IDVectorQdrantReachable, Group: GroupVector, Title: "Qdrant reachable", DependsOn: []string{IDVectorProvider}, Explain: Explain{
			Symptom: "Knowledge-base calls time out or fail with 'connection refused' or 'Unavailable'.",
			Cause:   "Qdrant is down, the url's host or port is wrong (compozy speaks gRPC, port 6334), the API key is refused, or a firewall drops the packets.",
			Fix:     "Start Qdrant and check knowledge.vector_dbs[].url; set QDRANT_API_KEY when the server requires one.",
		}},
		{ID: IDVectorQdrantCollection, Group: GroupVector, Title: "Qdrant collection exists", DependsOn: []string{IDVectorQdrantReachable}, Fixable: true, Explain: Explain{
			Symptom: "'Not found: Collection ... doesn't exist' on the first search.",
			Cause:   "The collection has not been created yet (a fresh Qdrant, or another collection name).",
			Fix:     "compozy doctor --fix creates it with the configured dimension and metric.",
		}},
		{ID: IDVectorRedisReachable, Group: GroupVector, Title: "Redis reachable", DependsOn: []string{IDVectorProvider}, Explain: Explain{
			Symptom: "'connection refused', 'NOAUTH' or timeouts from the Redis vector store.",
			Cause:   "Redis is down, the url is wrong, or the password is missing or wrong.",
			Fix:     "Start Redis and check the url (redis://:password@host:6379/0).",
		}},
		{ID: IDVectorRedisModule, Group: GroupVector, Title: "RediSearch 2.4 or later loaded", DependsOn: []string{IDVectorRedisReachable}, Explain: Explain{
			Symptom: "\"unknown command 'FT.CREATE'\" or 'Unknown field type VECTOR'.",
			Cause:   "Redis runs without the search module (Redis CE before 8 has none) or with a RediSearch older than 2.4, which has no vector fields.",
			Fix:     "Use Redis 8 or Redis Stack, or load RediSearch 2.4+: redis-server --loadmodule /usr/lib/redis/modules/redisearch.so.",
		}},
		{ID: IDVectorRedisIndex, Group: GroupVector, Title: "Redis vector index exists", DependsOn: []string{IDVectorRedisModule}, Fixable: true, Explain: Explain{
			Symptom: "'no such index' (Unknown index name) on the first search.",
			Cause:   "The FT index has not been created yet.",
			Fix:     "compozy doctor --fix creates it with the configured dimension and metric.",
		}},
		{ID: IDVectorPgvectorReachable, Group: GroupVector, Title: "PostgreSQL reachable for pgvector", DependsOn: []string{IDVectorProvider}, Explain: Explain{
			Symptom: "pgvector calls fail to connect.",
			Cause:   "The PostgreSQL server pgvector uses (the database section, or the entry's url) cannot be reached.",
			Fix:     "See postgres.connect; check the entry's url.",
		}},
		{ID: IDVectorPgvectorExtension, Group: GroupVector, Title: "pgvector extension installed", DependsOn: []string{IDVectorPgvectorReachable}, Fixable: true, Explain: Explain{
			Symptom: "'type \"vector\" does not exist' or 'extension \"vector\" is not available'.",
			Cause:   "pgvector is not installed on the server, or not created in this database (the extension is named vector, not pgvector), and it is not a trusted extension.",
			Fix:     "Install the package (postgresql-15-pgvector) and, as a superuser: CREATE EXTENSION vector; compozy doctor --fix runs it where permitted. The check prints it as a psql command for the vector server it names (its URL without the password).",
		}},
		{ID: IDVectorPgvectorTable, Group: GroupVector, Title: "pgvector table exists", DependsOn: []string{IDVectorPgvectorExtension}, Fixable: true, Explain: Explain{
			Symptom: "'relation ... does not exist' on the first search.",
			Cause:   "The embeddings table has not been created yet.",
			Fix:     "compozy doctor --fix creates it with the configured dimension; or run the SQL the check prints, psql commands for the vector server it names (psql 'postgres://user@host:port/db' -c 'CREATE TABLE IF NOT EXISTS ...;', the URL without its password).",
		}},
		{ID: IDVectorPgvectorIndex, Group: GroupVector, Title: "pgvector index", DependsOn: []string{IDVectorPgvectorTable}, Explain: Explain{
			Symptom: "Searches get slow as the table grows.",
			Cause:   "No HNSW or IVFFlat index on the vector column, or a dimension above the index limit (2000 for vector).",
			Fix:     "Create the index the check prints, a psql command for the vector server it names (a halfvec expression index above 2000 dimensions).",
		}},
		{ID: IDVectorFilesystemFolder, Group: GroupVector, Title: "Vector folder exists and is private", DependsOn: []string{IDVectorProvider}, Fixable: true, Explain: Explain{
			Symptom: "The filesystem vector store cannot write, or others can read the embeddings.",
			Cause:   "The folder is missing, not writable, or readable by other users.",
			Fix:     "compozy doctor --fix creates it (0700); otherwise chmod 700 it.",
		}},
		{ID: IDVectorFilesystemData, Group: GroupVector, Title: "Vector log is intact", DependsOn: []string{IDVectorFilesystemFolder}, Fixable: true, Explain: Explain{
			Symptom: "Searches miss documents, writes fail with 'damaged in the middle', or the store refuses to open.",
			Cause: "Every record of the vector log carries a checksum. A bad record with nothing intact after it is the torn tail of an interrupted write (a warning: the next write cuts only those bytes off, and first copies them to NAME.log.torn-<UTC time> unless they are a record cut short, all a killed writer leaves). " +
				"A bad record with intact records after it is damage in the middle (a disk fault, a bad copy, an edit): the check fails and names the byte ranges and the intact records before and after them; " +
				"reads skip the damaged records and writes are refused, so nothing behind the damage is lost.",
			Fix: "compozy doctor --fix rewrites the log atomically with every record whose checksum holds, in order, and keeps the damaged file beside it as NAME.log.damaged-<UTC time>. " +
				"A damaged header cannot be repaired: move the log away and re-index the knowledge base.",
		}},
		{ID: IDVectorDimension, Group: GroupVector, Title: "Vector dimension matches the config", Explain: Explain{
			Symptom: "'expected dim: 1536, got 768' when inserting or searching.",
			Cause:   "The collection was created for another embedding model than the one the config names.",
			Fix: "Set dimension to the collection's, or recreate the collection with the configured dimension (its data must be re-embedded). The check prints the command that drops it, for the vector server it names " +
				"(pgvector: psql 'postgres://user@host:port/db' -c 'DROP TABLE ...;', the URL without its password); --fix never runs it. compozy init checks this before writing (--dimension N, or --vector-id ID for another table).",
		}},
		{ID: IDVectorMetric, Group: GroupVector, Title: "Vector metric matches the config", Explain: Explain{
			Symptom: "Search results ranked oddly.",
			Cause:   "The collection uses another distance metric than the config says.",
			Fix:     "Recreate the collection with the configured metric, or change metric to match.",
		}},
	}
}

// Lookup returns the registered check with id.
func Lookup(id string) (Info, bool) {
	for _, in := range Registry() {
		if in.ID == id {
			return in, true
		}
	}
	return Info{}, false
}
