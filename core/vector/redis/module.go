package redis

import (
	"context"
	"fmt"
	"strings"

	"compozy.dev/setup/core/vector"
)

// MinSearchVersion is the first RediSearch version with vector fields (2.4.0).
const MinSearchVersion = 20400

// Module is the search module a server has loaded.
type Module struct {
	// Name is "search" (RediSearch 2.x, Redis Stack, Redis 8) or "ft" (RediSearch 1.x).
	Name string
	// Version is the module's number: major*10000 + minor*100 + patch.
	Version int64
}

// String renders "RediSearch 2.8.4".
func (m Module) String() string { return "RediSearch " + FormatVersion(m.Version) }

// FormatVersion renders a module version number: 20400 -> "2.4.0".
func FormatVersion(v int64) string {
	return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100)
}

// Module finds the search module. It returns an error wrapping vector.ErrUnsupported, naming
// what it found and what to run instead, when the module is missing or older than 2.4.
func (s *Store) Module(ctx context.Context) (Module, error) {
	s.mu.Lock()
	if m := s.moduleOK; m != nil {
		s.mu.Unlock()
		return *m, nil
	}
	s.mu.Unlock()
	mods, err := s.modules(ctx)
	if err != nil {
		return Module{}, err
	}
	var found *Module
	var others []string
	for _, m := range mods {
		switch strings.ToLower(m.Name) {
		case "search", "ft", "searchlight":
			found = &m
		default:
			others = append(others, fmt.Sprintf("%s %s", m.Name, FormatVersion(m.Version)))
		}
	}
	fix := vector.Fix{
		Text: "run a Redis with RediSearch 2.4 or later: Redis 8 (search is built in) or Redis Stack. " +
			"Debian's redis-redisearch package is RediSearch 1.2 and cannot store vectors.",
		Commands: []string{"docker run -d -p 6379:6379 redis:8", "docker run -d -p 6379:6379 redis/redis-stack-server:latest"},
	}
	if found == nil {
		loaded := "no modules are loaded"
		if len(others) > 0 {
			loaded = "loaded modules: " + strings.Join(others, ", ")
		}
		e := s.newErr(ctx, "find search module", vector.ErrUnsupported, nil,
			fmt.Sprintf("the RediSearch module is missing (%s); vector search needs RediSearch 2.4 or later", loaded))
		e.Fix = fix
		return Module{}, e
	}
	if found.Version < MinSearchVersion {
		e := s.newErr(ctx, "find search module", vector.ErrUnsupported, nil,
			fmt.Sprintf("%s is too old: module %q version %d (%s) has no vector fields; vector search needs RediSearch 2.4 or later",
				found, found.Name, found.Version, shortVersion(found.Version)))
		e.Fix = fix
		return Module{}, e
	}
	s.mu.Lock()
	s.moduleOK = found
	s.mu.Unlock()
	return *found, nil
}

func shortVersion(v int64) string { return fmt.Sprintf("%d.%d", v/10000, v/100%100) }

// modules lists the loaded modules with MODULE LIST, or INFO modules where MODULE is not
// allowed (managed services, ACLs).
func (s *Store) modules(ctx context.Context) ([]Module, error) {
	v, err := s.client.Do(ctx, "MODULE", "LIST").Result()
	if err == nil {
		return ParseModuleList(v), nil
	}
	if ctx.Err() != nil || isDialErr(err) {
		return nil, s.fail(ctx, "module list", err)
	}
	info, ierr := s.client.Info(ctx, "modules").Result()
	if ierr != nil {
		return nil, s.fail(ctx, "module list", err)
	}
	return parseInfoModules(info), nil
}

// ParseModuleList reads a MODULE LIST reply in either shape: RESP3 maps or RESP2 flat
// name/value arrays.
func ParseModuleList(v any) []Module {
	list, _ := v.([]any)
	var out []Module
	for _, m := range list {
		kv := pairs(m)
		name, _ := kv["name"].(string)
		if name == "" {
			continue
		}
		out = append(out, Module{Name: name, Version: toInt(kv["ver"])})
	}
	return out
}

// parseInfoModules reads "module:name=search,ver=20811,api=1,..." lines.
func parseInfoModules(info string) []Module {
	var out []Module
	for line := range strings.SplitSeq(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module:")
		if !ok {
			continue
		}
		var m Module
		for f := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "name":
				m.Name = v
			case "ver":
				m.Version = toInt(v)
			}
		}
		if m.Name != "" {
			out = append(out, m)
		}
	}
	return out
}
