package redis

import (
	"context"
	"fmt"

	"compozy.dev/setup/core/vector"
)

// Check IDs of this provider.
const (
	// CheckReachable: the server answers PING (and AUTH).
	CheckReachable = "vector.redis.reachable"
	// CheckModule: RediSearch 2.4 or later is loaded.
	CheckModule = "vector.redis.module"
	// CheckIndex: the index exists.
	CheckIndex = "vector.redis.index"
)

// Checks returns reachable, module, index, dimension and metric.
func (s *Store) Checks() []vector.Check {
	entry := s.opts.Entry
	checks := []vector.Check{
		{ID: CheckReachable, Entry: entry, Title: "Redis reachable", Server: true, Run: s.checkReachable},
		{ID: CheckModule, Entry: entry, Title: "RediSearch 2.4 or later loaded", DependsOn: []string{CheckReachable}, Server: true, Run: s.checkModule},
		{ID: CheckIndex, Entry: entry, Title: "Redis vector index exists", DependsOn: []string{CheckModule}, Run: s.checkIndex},
	}
	return append(checks, vector.ShapeChecks(s, entry, s.opts.Dimension, s.opts.Metric, s.dropFix(0), CheckIndex)...)
}

func (s *Store) checkReachable(ctx context.Context) vector.Result {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return vector.FailResult(s.fail(ctx, "ping", err))
	}
	info, err := s.client.Info(ctx, "server").Result()
	if err != nil {
		return vector.FailResult(s.fail(ctx, "info server", err))
	}
	return vector.Pass(fmt.Sprintf("Redis %s answers at %s", infoField(info, "redis_version"), s.target))
}

func (s *Store) checkModule(ctx context.Context) vector.Result {
	m, err := s.Module(ctx)
	if err != nil {
		return vector.FailResult(err)
	}
	return vector.Pass(fmt.Sprintf("%s is loaded (module %q, version %d)", m, m.Name, m.Version))
}

func (s *Store) checkIndex(ctx context.Context) vector.Result {
	info, err := s.Describe(ctx)
	if err != nil {
		return vector.FailResult(err)
	}
	return vector.Pass(fmt.Sprintf("index %q exists (%s, %d documents)", info.Name, info.Index, info.Count))
}
