package qdrant

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"compozy.dev/setup/core/vector"
)

// Check IDs of this provider.
const (
	// CheckReachable: the server answers gRPC health checks; its version is close to the client's.
	CheckReachable = "vector.qdrant.reachable"
	// CheckCollection: the collection exists.
	CheckCollection = "vector.qdrant.collection"
)

// Checks returns reachable, collection, dimension and metric.
func (s *Store) Checks() []vector.Check {
	entry := s.opts.Entry
	checks := []vector.Check{
		{ID: CheckReachable, Entry: entry, Title: "Qdrant reachable over gRPC", Server: true, Run: s.checkReachable},
		{ID: CheckCollection, Entry: entry, Title: "Qdrant collection exists", DependsOn: []string{CheckReachable}, Run: s.checkCollection},
	}
	drop := vector.Fix{Commands: []string{s.restCmd("DELETE", "/collections/"+url.PathEscape(s.opts.Collection), "")}}
	return append(checks, vector.ShapeChecks(s, entry, s.opts.Dimension, s.opts.Metric, drop, CheckCollection)...)
}

func (s *Store) checkReachable(ctx context.Context) vector.Result {
	h, err := s.Health(ctx)
	if err != nil {
		return vector.FailResult(err)
	}
	detail := fmt.Sprintf("%s; client %s; %s", h.Detail, h.ClientVersion, s.note)
	if len(h.Warnings) > 0 {
		r := vector.Result{Status: vector.StatusWarn, Summary: fmt.Sprintf("Qdrant %s at %s: %s", h.ServerVersion, s.addr, h.Warnings[0]),
			Detail: detail + "\n" + strings.Join(h.Warnings, "\n")}
		// The first warning is the version gap when there is one (Health adds it first).
		if VersionGap(h.ClientVersion, h.ServerVersion) != "" {
			r.Fix = vector.Fix{Text: "keep Qdrant within one minor version of the client compozy is built with (go-client " + h.ClientVersion + ")"}
		} else {
			r.Fix = vector.Fix{Text: "use https:// (or grpcs://) so the API key is encrypted"}
		}
		return r
	}
	return vector.Result{Status: vector.StatusPass, Summary: fmt.Sprintf("Qdrant %s answers gRPC at %s", h.ServerVersion, s.addr), Detail: detail}
}

func (s *Store) checkCollection(ctx context.Context) vector.Result {
	info, err := s.Describe(ctx)
	if err != nil {
		return vector.FailResult(err)
	}
	r := vector.Pass(fmt.Sprintf("collection %q exists (%d points)", info.Name, info.Count))
	if len(info.Notes) > 0 {
		r.Status = vector.StatusWarn
		r.Summary = fmt.Sprintf("collection %q: %s", info.Name, info.Notes[0])
		r.Detail = strings.Join(info.Notes, "\n")
	}
	return r
}
