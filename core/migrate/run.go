package migrate

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/pressly/goose/v3"

	"compozy.dev/setup/migrations"
)

// Guard is called with the migration lock held, after the run is planned and before anything
// changes, with what the run will do: the migrations in order and, for a down, the data it
// drops (see Losses). An error stops the run there; nothing is changed.
type Guard func(ctx context.Context, plan []Migration, losses []Loss) error

// Up applies every pending migration. It refuses a database that holds versions newer than
// this binary knows (*NewerError).
func (m *Migrator) Up(ctx context.Context) ([]Result, error) {
	return m.UpGuarded(ctx, 0, nil)
}

// UpTo applies the pending migrations up to and including version, which must be known.
func (m *Migrator) UpTo(ctx context.Context, version int64) ([]Result, error) {
	return m.UpGuarded(ctx, version, nil)
}

// UpGuarded applies the pending migrations up to and including to (0 = all), after guard (when
// not nil) accepted the plan made under the migration lock.
func (m *Migrator) UpGuarded(ctx context.Context, to int64, guard Guard) ([]Result, error) {
	if to != 0 {
		if _, ok := m.Lookup(to); !ok {
			return nil, fmt.Errorf("migrate up: unknown version %d", to)
		}
	}
	unlock, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	plan, err := m.Plan(ctx, to)
	if err != nil {
		return nil, err
	}
	if guard != nil && len(plan) > 0 {
		if err := guard(ctx, plan, nil); err != nil {
			return nil, err
		}
	}
	var res []*goose.MigrationResult
	if to == 0 {
		res, err = m.provider.Up(ctx)
	} else {
		res, err = m.provider.UpTo(ctx, to)
	}
	return m.results(DirectionUp, res, err)
}

// Down reverts the most recently applied migration. It returns no results when nothing is
// applied.
func (m *Migrator) Down(ctx context.Context) ([]Result, error) {
	return m.DownGuarded(ctx, -1, nil)
}

// DownTo reverts applied migrations above version (version itself stays applied; 0 reverts
// everything). version must be 0 or known.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]Result, error) {
	if version < 0 {
		return nil, fmt.Errorf("migrate down: unknown version %d", version)
	}
	return m.DownGuarded(ctx, version, nil)
}

// DownGuarded reverts what PlanDown(to) lists (to < 0: the most recent migration only), after
// guard (when not nil) accepted the plan and the data it drops, both worked out under the
// migration lock, so that what was shown and confirmed is what is reverted. Nothing to revert
// changes nothing (not even a version table is created).
func (m *Migrator) DownGuarded(ctx context.Context, to int64, guard Guard) ([]Result, error) {
	if to > 0 {
		if _, ok := m.Lookup(to); !ok {
			return nil, fmt.Errorf("migrate down: unknown version %d", to)
		}
	}
	unlock, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	plan, err := m.PlanDown(ctx, to)
	if err != nil {
		return nil, err
	}
	if len(plan) == 0 {
		return nil, nil
	}
	if guard != nil {
		losses, err := m.Losses(ctx, plan)
		if err != nil {
			return nil, err
		}
		if err := guard(ctx, plan, losses); err != nil {
			return nil, err
		}
	}
	var res []*goose.MigrationResult
	if to < 0 {
		var r *goose.MigrationResult
		r, err = m.provider.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return nil, nil
		}
		if r != nil {
			res = []*goose.MigrationResult{r}
		}
	} else {
		res, err = m.provider.DownTo(ctx, to)
	}
	return m.results(DirectionDown, res, err)
}

// PoolerRefusal is the error every run that writes returns before changing anything, because
// the connection goes through a transaction pooler; nil when runs are not refused for it. A dry
// run says with it that the real run would be refused.
func (m *Migrator) PoolerRefusal() *PoolerError { return m.pooled }

// acquire takes the lock that serialises writing runs: the lock file of a SQLite database, or
// on PostgreSQL a session advisory lock of compozy's own, held on one connection for the whole
// run (goose's own lock, taken inside each of its calls, still serialises against Compozy's
// auto-migration).
func (m *Migrator) acquire(ctx context.Context) (func(), error) {
	if m.readOnly {
		return nil, ErrReadOnly
	}
	if m.pooled != nil {
		return nil, m.pooled
	}
	if m.private {
		return func() {}, nil
	}
	if m.dialect == migrations.Postgres {
		return m.lockPostgres(ctx)
	}
	return m.lock(ctx)
}

// results converts goose's results, and a *goose.PartialError into a *RunError.
func (m *Migrator) results(dir Direction, res []*goose.MigrationResult, err error) ([]Result, error) {
	out := make([]Result, 0, len(res))
	for _, r := range res {
		out = append(out, m.result(r))
	}
	if err == nil {
		return out, nil
	}
	if pe, ok := errors.AsType[*goose.PartialError](err); ok {
		runErr := &RunError{Direction: dir, Err: pe.Err}
		for _, r := range pe.Applied {
			runErr.Applied = append(runErr.Applied, m.result(r))
		}
		if pe.Failed != nil {
			runErr.Failed = m.result(pe.Failed)
		}
		return runErr.Applied, runErr
	}
	return out, fmt.Errorf("migrate %s: %w", dir, err)
}

func (m *Migrator) result(r *goose.MigrationResult) Result {
	out := Result{Direction: Direction(r.Direction), Duration: r.Duration, Empty: r.Empty, Err: r.Error}
	if r.Source != nil {
		if k, ok := m.Lookup(r.Source.Version); ok {
			out.Migration = k
		} else {
			out.Migration = Migration{Version: r.Source.Version, File: path.Base(r.Source.Path)}
		}
	}
	return out
}
