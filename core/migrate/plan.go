package migrate

import (
	"context"
	"fmt"
)

// Plan returns the migrations `up` would apply, in order, without changing anything: every
// pending one, or those up to and including version to (to = 0 means all). It fails like Up
// would on a database newer than this binary or migrated out of order.
func (m *Migrator) Plan(ctx context.Context, to int64) ([]Migration, error) {
	if to != 0 {
		if _, ok := m.Lookup(to); !ok {
			return nil, fmt.Errorf("migrate plan: unknown version %d", to)
		}
	}
	c, err := m.Check(ctx)
	if err != nil {
		return nil, err
	}
	return planUp(c, to)
}

// PlanUpFresh returns what Up would apply to an empty database (a SQLite file that does not
// exist yet): every known migration up to to (0 = all).
func PlanUpFresh(known []Migration, to int64) []Migration {
	out := make([]Migration, 0, len(known))
	for _, k := range known {
		if to == 0 || k.Version <= to {
			out = append(out, k)
		}
	}
	return out
}

func planUp(c *CheckResult, to int64) ([]Migration, error) {
	if len(c.Newer) > 0 {
		return nil, &NewerError{Versions: c.Newer, Latest: c.Latest}
	}
	var ooo []int64
	for _, k := range c.OutOfOrder {
		if to == 0 || k.Version <= to {
			ooo = append(ooo, k.Version)
		}
	}
	if len(ooo) > 0 {
		return nil, &OutOfOrderError{Versions: ooo, Current: c.Current}
	}
	return PlanUpFresh(c.Pending, to), nil
}

// PlanDown returns the migrations `down` would revert, most recent first, without changing
// anything: those above version to (to = 0 reverts all; to < 0 means only the most recent one).
// It fails when a version to revert is one this binary does not know.
func (m *Migrator) PlanDown(ctx context.Context, to int64) ([]Migration, error) {
	app, _, err := m.readApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate plan: %w", err)
	}
	var out []Migration
	for i := len(app) - 1; i >= 0; i-- {
		v := app[i].version
		if to >= 0 && v <= to {
			break
		}
		k, ok := m.Lookup(v)
		if !ok {
			if v > m.Latest() {
				return nil, &NewerError{Versions: []int64{v}, Latest: m.Latest()}
			}
			return nil, &UnknownVersionError{Version: v}
		}
		out = append(out, k)
		if to < 0 {
			break
		}
	}
	return out, nil
}
