// Package wizard is `compozy init` without its command line: the answers (filled by questions
// or by flags), the decision matrix (data plus the pure function Decide), the rules around them
// (the defaults --yes takes, the flags a run without questions needs, the check of each answer
// as it is typed), the rendering and merging of the sections this tool owns, the connection
// test, the data guard of an update, and the atomic write. Run asks its questions through a
// prompt.UI (package wizard/prompt: a terminal, accessible line-by-line, or none); the cli
// package only reads the flags, picks the UI for the terminal it has, and runs the commands
// that follow (migrate up, doctor, db copy).
package wizard

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// UseCase is what the setup is for.
type UseCase string

// The use cases, in the order the form offers them.
const (
	UseDev          UseCase = "dev"
	UseCI           UseCase = "ci"
	UseEdge         UseCase = "edge"
	UseSingleTenant UseCase = "single-tenant"
	UseProduction   UseCase = "production"
)

// UseCases lists every use case in form order.
func UseCases() []UseCase {
	return []UseCase{UseDev, UseCI, UseEdge, UseSingleTenant, UseProduction}
}

// Label is the use case as the form shows it.
func (u UseCase) Label() string {
	switch u {
	case UseDev:
		return "Local development"
	case UseCI:
		return "CI / testing"
	case UseEdge:
		return "Edge device"
	case UseSingleTenant:
		return "Single-tenant server"
	case UseProduction:
		return "Production / multi-tenant"
	}
	return string(u)
}

// Workflows is how many workflows run at once, as a band.
type Workflows string

// The concurrency bands.
const (
	Workflows1to10   Workflows = "1-10"
	Workflows10to25  Workflows = "10-25"
	Workflows25to100 Workflows = "25-100"
	Workflows100Plus Workflows = "100+"
)

// WorkflowBands lists every band, smallest first.
func WorkflowBands() []Workflows {
	return []Workflows{Workflows1to10, Workflows10to25, Workflows25to100, Workflows100Plus}
}

// Available is what the user already has for vector search.
type Available string

// What may already be available for vector search.
const (
	// AvailPgvector is a PostgreSQL the user can add the pgvector extension to.
	AvailPgvector Available = "pgvector"
	AvailQdrant   Available = "qdrant"
	// AvailRedis is a Redis with RediSearch 2.4 or later.
	AvailRedis Available = "redis"
	AvailNone  Available = "none"
)

// AvailableOptions lists what the form offers, in order.
func AvailableOptions() []Available {
	return []Available{AvailPgvector, AvailQdrant, AvailRedis, AvailNone}
}

// Label is the option as the form shows it.
func (a Available) Label() string {
	switch a {
	case AvailPgvector:
		return "PostgreSQL I can add pgvector to"
	case AvailQdrant:
		return "Qdrant"
	case AvailRedis:
		return "Redis with RediSearch 2.4 or later"
	case AvailNone:
		return "Nothing yet"
	}
	return string(a)
}

// short is the option in a matrix row.
func (a Available) short() string {
	switch a {
	case AvailPgvector:
		return "PostgreSQL + pgvector"
	case AvailQdrant:
		return "Qdrant"
	case AvailRedis:
		return "Redis + RediSearch"
	case AvailNone:
		return "nothing yet"
	}
	return string(a)
}

// Driver and provider names, as written in compozy.yaml.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"

	ProviderPgvector   = "pgvector"
	ProviderQdrant     = "qdrant"
	ProviderRedis      = "redis"
	ProviderFilesystem = "filesystem"
	// ProviderNone means no vector DB: knowledge bases are not used.
	ProviderNone = "none"
)

// SQLiteMeasuredSafe is the most concurrent workflows measured with zero lock errors on SQLite
// in one process (docs/benchmarks.md): the same figure core/config warns above.
const SQLiteMeasuredSafe = 200

// Answers are the matrix questions. The form and the flags fill the same struct; Decide reads it.
type Answers struct {
	UseCase   UseCase
	Workflows Workflows
	// Vectors says whether knowledge bases (vector search) are needed.
	Vectors bool
	// Server says whether a database server (PostgreSQL) can be run or reached.
	Server bool
	// Available is what exists for vector search; read only when Vectors is set.
	Available Available

	// Driver and Provider override the recommendation when set ("" accepts it).
	Driver   string
	Provider string

	// PgvectorServer names the other PostgreSQL server pgvector lives on (host:port/database,
	// no password; PgvectorServer of the vector URL), or "" when pgvector is inside the
	// database's own PostgreSQL. The reasons say which.
	PgvectorServer string
}

// Plan is the outcome of the matrix: what to write, and why.
type Plan struct {
	Driver string
	// Provider is the vector DB provider, or ProviderNone.
	Provider string
	// Reasons are shown to the user and written as comments into compozy.yaml.
	Reasons []string
	// Warnings are risks the user should know of (shown, and written as comments).
	Warnings []string
	// Row names the matrix row the answers fell in.
	Row string
	// RecommendedDriver and RecommendedProvider are the matrix's choice before any override.
	RecommendedDriver   string
	RecommendedProvider string
}

// Overridden reports whether the user changed the recommendation.
func (p Plan) Overridden() bool {
	return p.Driver != p.RecommendedDriver || p.Provider != p.RecommendedProvider
}

// ErrPgvectorSQLite is returned when the user asks for pgvector with the SQLite driver.
var ErrPgvectorSQLite = errors.New("pgvector provider is incompatible with SQLite driver: pgvector is a PostgreSQL extension and SQLite has no vector search; use qdrant, redis or filesystem, or the postgres driver")

// useCaseRow is one row of the driver part of the matrix: what a use case needs.
type useCaseRow struct {
	driver string
	reason string
	// noneProvider is the vector store for a use case when nothing is available: filesystem
	// where a development store is enough, qdrant where a real service is needed.
	noneProvider string
}

// useCaseMatrix is the driver half of the decision matrix (database-docs-plan.md, corrected by
// the measurements in sqlite-concurrency-measurements.md: the line between the drivers is one
// process versus several, not 10 versus 100 workflows).
func useCaseMatrix() map[UseCase]useCaseRow {
	return map[UseCase]useCaseRow{
		UseDev: {DriverSQLite, "local development: SQLite is one file and nothing to install; it runs hundreds of concurrent workflows in one process",
			ProviderFilesystem},
		UseCI: {DriverSQLite, "CI / testing: SQLite needs no service to start; use a fresh file (or :memory:) per run",
			ProviderFilesystem},
		UseEdge: {DriverSQLite, "edge device: SQLite is embedded in the binary, with no server to run or update",
			ProviderFilesystem},
		UseSingleTenant: {DriverSQLite, "single-tenant server: one Compozy process; SQLite with WAL and one writer measured 0 lock errors up to 200 concurrent workflows",
			ProviderQdrant},
		UseProduction: {DriverPostgres, "production / multi-tenant: several Compozy processes or hosts share the database, which only PostgreSQL does safely",
			ProviderPgvector},
	}
}

// Decide applies the decision matrix to a. It is pure: the same answers give the same plan.
// It fails only on answers that are out of range or an override that cannot work
// (ErrPgvectorSQLite).
func Decide(a Answers) (Plan, error) {
	if err := a.validate(); err != nil {
		return Plan{}, err
	}
	row := useCaseMatrix()[a.UseCase]
	p := Plan{Row: a.row()}
	p.Driver, p.Reasons = row.driver, []string{row.reason}

	// Concurrency: the measured safe limit is 200 in one process; 100+ is open-ended.
	if a.Workflows == Workflows100Plus && p.Driver == DriverSQLite && a.Server {
		p.Driver = DriverPostgres
		p.Reasons = append(p.Reasons, fmt.Sprintf("100+ concurrent workflows: SQLite was measured safe up to %d in one process; PostgreSQL leaves room to grow and to add processes", SQLiteMeasuredSafe))
	}
	// pgvector you already have pulls the driver to PostgreSQL: it lives inside PostgreSQL.
	if a.Vectors && a.Available == AvailPgvector && a.Server && p.Driver == DriverSQLite {
		p.Driver = DriverPostgres
		p.Reasons = append(p.Reasons, "you have a PostgreSQL for pgvector: keeping workflow state in it too means one service, and pgvector needs the postgres driver")
	}
	// No server: SQLite whatever the use case.
	if !a.Server && p.Driver == DriverPostgres {
		p.Driver = DriverSQLite
		p.Reasons = append(p.Reasons, "no database server can be run or reached, so SQLite")
		if a.UseCase == UseProduction {
			p.Warnings = append(p.Warnings, "production / multi-tenant on SQLite: only one Compozy process may use the database file; run PostgreSQL before adding a second process or host")
		}
	}
	p.RecommendedDriver = p.Driver
	if a.Driver != "" && a.Driver != p.Driver {
		p.Driver = a.Driver
		p.Reasons = append(p.Reasons, fmt.Sprintf("driver %s chosen by you (the matrix recommends %s)", a.Driver, p.RecommendedDriver))
	}

	p.RecommendedProvider = recommendProvider(a, p.Driver, row, &p)
	p.Provider = p.RecommendedProvider
	if a.Provider != "" && a.Provider != p.Provider {
		if a.Provider == ProviderPgvector && p.Driver == DriverSQLite {
			return Plan{}, ErrPgvectorSQLite
		}
		p.Provider = a.Provider
		p.Reasons = append(p.Reasons, fmt.Sprintf("vector DB %s chosen by you (the matrix recommends %s)", a.Provider, p.RecommendedProvider))
	}

	// Warnings that depend on the final choice.
	if p.Driver == DriverSQLite && a.Workflows == Workflows100Plus {
		p.Warnings = append(p.Warnings, fmt.Sprintf("SQLite with 100+ concurrent workflows: measured safe up to %d in one process; keep runtime.max_concurrent_workflows at %d or less, or use PostgreSQL", SQLiteMeasuredSafe, SQLiteMeasuredSafe))
	}
	if p.Driver == DriverSQLite && a.UseCase == UseProduction && a.Server {
		p.Warnings = append(p.Warnings, "production / multi-tenant on SQLite: only one Compozy process may use the database file")
	}
	if p.Provider == ProviderFilesystem && (a.UseCase == UseSingleTenant || a.UseCase == UseProduction) {
		p.Warnings = append(p.Warnings, "the filesystem vector store is for development: an exact scan in one process; run Qdrant (or Redis with RediSearch 2.4+) for real traffic")
	}
	if p.Provider == ProviderNone && p.Driver == DriverSQLite {
		p.Warnings = append(p.Warnings, warnNoVectorDB)
	}
	return p, nil
}

// Direct is the plan when the user names both the driver and the vector DB (--db-driver and
// --vector-provider) instead of answering the matrix questions.
func Direct(driver, provider string) (Plan, error) {
	a := Answers{UseCase: UseDev, Workflows: Workflows1to10, Driver: driver, Provider: provider}
	if err := a.validate(); err != nil {
		return Plan{}, err
	}
	if driver == "" || provider == "" {
		return Plan{}, errors.New("name both the driver and the vector DB")
	}
	if driver == DriverSQLite && provider == ProviderPgvector {
		return Plan{}, ErrPgvectorSQLite
	}
	p := Plan{Driver: driver, Provider: provider, RecommendedDriver: driver, RecommendedProvider: provider,
		Row:     "chosen with --db-driver and --vector-provider",
		Reasons: []string{fmt.Sprintf("driver %s and vector DB %s named on the command line", driver, provider)}}
	if provider == ProviderNone && driver == DriverSQLite {
		p.Warnings = append(p.Warnings, warnNoVectorDB)
	}
	return p, nil
}

// warnNoVectorDB is the warning of SQLite without a vector DB.
const warnNoVectorDB = "SQLite has no vector search and no vector DB is configured: knowledge bases will not work"

// KeepingVectorDBs returns p for a file whose own knowledge.vector_dbs stay as they are (p
// has no vector DB, so init leaves them): it says so, and drops the warning that knowledge
// bases will not work.
func (p Plan) KeepingVectorDBs() Plan {
	if p.Provider != ProviderNone {
		return p
	}
	p.Reasons = append(slices.Clone(p.Reasons), "the vector DBs already in knowledge.vector_dbs are kept as they are")
	p.Warnings = slices.DeleteFunc(slices.Clone(p.Warnings), func(w string) bool { return w == warnNoVectorDB })
	return p
}

// recommendProvider is the vector half of the matrix: given the driver, what to use for vector
// search. pgvector is never offered with SQLite.
func recommendProvider(a Answers, driver string, row useCaseRow, p *Plan) string {
	if !a.Vectors {
		p.Reasons = append(p.Reasons, "no knowledge bases: no vector DB")
		return ProviderNone
	}
	switch a.Available {
	case AvailQdrant:
		p.Reasons = append(p.Reasons, "vector search: Qdrant, which you already have")
		return ProviderQdrant
	case AvailRedis:
		p.Reasons = append(p.Reasons, "vector search: Redis with RediSearch, which you already have")
		return ProviderRedis
	case AvailPgvector:
		if driver == DriverPostgres {
			p.Reasons = append(p.Reasons, pgvectorWhere(a, ""))
			return ProviderPgvector
		}
		p.Reasons = append(p.Reasons, "vector search: SQLite has no vector search and pgvector only works with the postgres driver, so an external vector DB is required; the filesystem store needs no service")
		return ProviderFilesystem
	}
	// Nothing available.
	if driver == DriverPostgres {
		p.Reasons = append(p.Reasons, pgvectorWhere(a, "; the postgresql-NN-pgvector package"))
		return ProviderPgvector
	}
	if row.noneProvider == ProviderFilesystem || !a.Server {
		p.Reasons = append(p.Reasons, "vector search: SQLite has none, so an external vector DB is required; the filesystem store needs no service (development only)")
		return ProviderFilesystem
	}
	p.Reasons = append(p.Reasons, "vector search: SQLite has none, so an external vector DB is required; Qdrant is the one to run for a server (docker run -p 6333:6333 -p 6334:6334 qdrant/qdrant)")
	return ProviderQdrant
}

// pgvectorWhere is the reason for pgvector: inside the same PostgreSQL, or on the other server
// the answers name.
func pgvectorWhere(a Answers, pkg string) string {
	if a.PgvectorServer != "" {
		return "vector search: pgvector, on another PostgreSQL server, " + a.PgvectorServer + " (CREATE EXTENSION vector there" + pkg + "); workflow state stays in the database above"
	}
	return "vector search: pgvector, inside the same PostgreSQL (CREATE EXTENSION vector" + pkg + ")"
}

// row names the matrix row of a, for the form and the YAML comment.
func (a Answers) row() string {
	parts := []string{a.UseCase.Label(), string(a.Workflows) + " workflows"}
	if a.Server {
		parts = append(parts, "database server: yes")
	} else {
		parts = append(parts, "database server: no")
	}
	if a.Vectors {
		parts = append(parts, "vector search: "+a.Available.short())
	} else {
		parts = append(parts, "no vector search")
	}
	return strings.Join(parts, " · ")
}

// validate checks that every answer is one the matrix knows.
func (a Answers) validate() error {
	if _, ok := useCaseMatrix()[a.UseCase]; !ok {
		return fmt.Errorf("unknown use case %q (want one of %s)", a.UseCase, joinValues(UseCases()))
	}
	if !slices.Contains(WorkflowBands(), a.Workflows) {
		return fmt.Errorf("unknown workflow band %q (want one of %s)", a.Workflows, joinValues(WorkflowBands()))
	}
	if a.Vectors && !slices.Contains(AvailableOptions(), a.Available) {
		return fmt.Errorf("unknown vector option %q (want one of %s)", a.Available, joinValues(AvailableOptions()))
	}
	switch a.Driver {
	case "", DriverSQLite, DriverPostgres:
	default:
		return fmt.Errorf("unknown driver %q (want sqlite or postgres)", a.Driver)
	}
	switch a.Provider {
	case "", ProviderPgvector, ProviderQdrant, ProviderRedis, ProviderFilesystem, ProviderNone:
	default:
		return fmt.Errorf("unknown vector provider %q (want pgvector, qdrant, redis, filesystem or none)", a.Provider)
	}
	return nil
}

func joinValues[T ~string](vs []T) string {
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = string(v)
	}
	return strings.Join(ss, ", ")
}
