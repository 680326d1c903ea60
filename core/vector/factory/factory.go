// Package factory opens a vector store from one knowledge.vector_dbs entry. It is the only
// package that imports every provider: the doctor and the wizard depend on core/vector alone
// and receive a vector.Store or its checks from the command layer.
package factory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"compozy.dev/setup/core/config"
	storagefactory "compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/filesystem"
	"compozy.dev/setup/core/vector/pgvector"
	"compozy.dev/setup/core/vector/qdrant"
	"compozy.dev/setup/core/vector/redis"
)

// Options carries what an entry alone does not say.
type Options struct {
	// Database is the database section. pgvector uses its PostgreSQL when the entry has no url
	// and PostgresDSN is empty, and is refused when the driver is SQLite.
	Database config.Database
	// PostgresDSN, when set, is the connection string pgvector uses when the entry has no url.
	PostgresDSN string
	// Getenv reads environment variables (the Qdrant API key); nil means os.Getenv.
	Getenv func(string) string
}

// Open opens the store the entry describes. It makes no network connection (the filesystem
// store reads nothing either); errors are configuration errors wrapping vector.ErrInvalid.
func Open(ctx context.Context, entry config.VectorDB, opts Options) (vector.Store, error) {
	if err := Valid(entry, opts); err != nil {
		return nil, err
	}
	metric, err := vector.ParseMetric(entry.Metric)
	if err != nil {
		return nil, invalid(entry, err.Error(), "")
	}
	switch entry.Provider {
	case vector.ProviderFilesystem:
		return filesystem.Open(ctx, filesystem.Options{Entry: entry.ID, Dir: entry.Path, Name: entry.Collection, Dimension: entry.Dimension, Metric: metric})
	case vector.ProviderQdrant:
		return qdrant.Open(ctx, qdrant.Options{Entry: entry.ID, URL: entry.URL, Collection: entry.Collection, Dimension: entry.Dimension, Metric: metric, Getenv: opts.Getenv})
	case vector.ProviderRedis:
		return redis.Open(ctx, redis.Options{Entry: entry.ID, URL: entry.URL, Index: entry.Index, Dimension: entry.Dimension, Metric: metric, Dialect: entry.Dialect})
	case vector.ProviderPgvector:
		dsn := entry.URL
		if dsn == "" {
			dsn = opts.PostgresDSN
		}
		if dsn == "" {
			dsn = DSN(opts.Database)
		}
		return pgvector.Open(ctx, pgvector.Options{Entry: entry.ID, ConnString: dsn, Table: entry.Collection, Index: entry.Index, Dimension: entry.Dimension, Metric: metric})
	}
	return nil, invalid(entry, fmt.Sprintf("unknown provider %q", entry.Provider), "use pgvector, qdrant, redis or filesystem")
}

// Valid reports whether the entry's provider can work with the database driver: pgvector
// needs PostgreSQL.
func Valid(entry config.VectorDB, opts Options) error {
	if entry.Provider == vector.ProviderPgvector && strings.EqualFold(opts.Database.Driver, config.DriverSQLite) && entry.URL == "" && opts.PostgresDSN == "" {
		return invalid(entry, "pgvector provider is incompatible with SQLite driver",
			"use qdrant, redis or filesystem as the provider of this vector DB (for example provider: qdrant with url: http://localhost:6333), or set driver: postgres")
	}
	if entry.Dimension <= 0 {
		return invalid(entry, fmt.Sprintf("dimension must be at least 1, got %d", entry.Dimension), "set dimension to the length of the embedding model's vectors, for example 1536")
	}
	return nil
}

func invalid(entry config.VectorDB, msg, fix string) *vector.Error {
	provider := entry.Provider
	if provider == "" {
		provider = "vector"
	}
	e := vector.NewError(nil, provider, "open vector DB "+strconv.Quote(entry.ID), "", vector.ErrInvalid, nil)
	e.Msg = msg
	e.Fix = vector.Fix{Text: fix}
	return e
}

// Checks returns the entry's checks for the doctor: vector.provider first (is the provider
// known and valid for the driver), then the provider's own checks, each of which then depends
// on vector.provider. When the store cannot be opened, vector.provider fails with the reason
// and is the only check. close releases the store; call it when the checks have run.
func Checks(ctx context.Context, entry config.VectorDB, opts Options) (checks []vector.Check, close func() error) {
	store, err := Open(ctx, entry, opts)
	provider := vector.Check{ID: vector.CheckProvider, Entry: entry.ID, Title: "Vector DB provider valid"}
	if err != nil {
		r := vector.FailResult(err)
		provider.Run = func(context.Context) vector.Result { return r }
		return []vector.Check{provider}, func() error { return nil }
	}
	summary := fmt.Sprintf("%s vector DB %q at %s", entry.Provider, entry.ID, store.Target())
	if entry.Provider == vector.ProviderPgvector {
		summary += " (PostgreSQL driver)"
	}
	provider.Run = func(context.Context) vector.Result { return vector.Pass(summary) }
	checks = []vector.Check{provider}
	for _, c := range store.Checks() {
		if len(c.DependsOn) == 0 {
			c.DependsOn = []string{vector.CheckProvider}
		}
		checks = append(checks, c)
	}
	return checks, store.Close
}

// DSN is the connection string of the database section, built the one way the storage layer
// builds it (core/storage/postgres.DSN), so that any password works.
func DSN(db config.Database) string {
	return postgres.DSN(storagefactory.PostgresOptions(db))
}

// IsConfigError reports whether err is a configuration problem (as opposed to a server one).
func IsConfigError(err error) bool { return errors.Is(err, vector.ErrInvalid) }
