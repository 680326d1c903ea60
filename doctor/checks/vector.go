package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"compozy.dev/setup/core/atomicfile"
	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/doctor"
)

// planTimeout bounds a provider's repair plan, which reads (the filesystem store reads its log).
const planTimeout = 30 * time.Second

// ensureChecks are the vector checks whose failure Store.Ensure repairs.
func ensureChecks() []string {
	return []string{doctor.IDVectorQdrantCollection, doctor.IDVectorRedisIndex, doctor.IDVectorPgvectorExtension,
		doctor.IDVectorPgvectorTable, doctor.IDVectorFilesystemFolder}
}

// vectorChecks wraps the checks each vector DB provider exports (core/vector), which the
// caller's VectorSource gives, for every knowledge.vector_dbs entry.
func (s *Set) vectorChecks(entries []config.VectorDB) []doctor.Check {
	if s.in.Vector == nil {
		return nil
	}
	var out []doctor.Check
	for _, entry := range entries {
		vcs, closeFn := s.in.Vector.Checks(context.Background(), entry)
		s.closer = append(s.closer, func() { _ = closeFn() })
		for _, vc := range vcs {
			out = append(out, wrapVector(vc, entry, s.in.Vector))
		}
	}
	return out
}

// wrapVector turns a provider's check into a doctor check: its result redacted, and a repair
// (the provider's own, or Store.Ensure through vs) when one applies.
func wrapVector(vc vector.Check, entry config.VectorDB, vs VectorSource) doctor.Check {
	in, ok := doctor.Lookup(vc.ID)
	if !ok {
		in = doctor.Info{ID: vc.ID, Group: doctor.GroupVector, Title: vc.Title}
	}
	in.DependsOn = slices.Clone(vc.DependsOn)
	if vc.Title != "" {
		in.Title = vc.Title
	}
	fixable := slices.Contains(ensureChecks(), vc.ID)
	c := doctor.Check{Info: in, Entry: vc.Entry, Run: func(ctx context.Context) doctor.Result {
		// End a little before the check's deadline, so that a server that does not answer is
		// reported by the provider, which names its address, not as a bare timeout.
		ctx, cancel := context.WithTimeout(ctx, stepLimit(ctx, 0))
		defer cancel()
		r := vc.Run(ctx)
		res := doctor.Result{Status: doctor.Status(r.Status), Summary: config.Redact(r.Summary), Detail: config.Redact(r.Detail),
			Fix: doctor.Fix{Text: r.Fix.Text, Commands: redactAll(r.Fix.Commands)}}
		if d := res.Detail; d == res.Summary {
			res.Detail = ""
		} else if strings.HasPrefix(d, res.Summary) {
			res.Detail = strings.TrimSpace(strings.TrimPrefix(d[len(res.Summary):], ":"))
		}
		// Ensure creates what is missing; it cannot change the dimension of what exists.
		res.Fixable = fixable && (res.Status == doctor.StatusFail || res.Status == doctor.StatusWarn) && !errors.Is(r.Err, vector.ErrDimension)
		if vc.Repair != nil {
			res.Fixable = r.Fixable
		}
		return res
	}}
	if vc.Repair != nil {
		// The provider's own repair (the filesystem store rewriting a damaged log).
		c.Repair = &doctor.Repair{
			Plan: func(doctor.Result) string {
				ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
				defer cancel()
				return config.Redact(vc.Repair.Plan(ctx))
			},
			Apply: func(ctx context.Context, _ doctor.Result) error {
				if err := vc.Repair.Apply(ctx); err != nil {
					return fmt.Errorf("repair vector DB %s: %w", entry.ID, err)
				}
				return nil
			},
		}
	} else if fixable {
		c.Repair = &doctor.Repair{
			Plan: func(doctor.Result) string {
				return fmt.Sprintf("create the %s %s of vector DB %q (dimension %d)", entry.Provider, what(vc.ID), entry.ID, entry.Dimension)
			},
			Apply: func(ctx context.Context, _ doctor.Result) error {
				if vc.ID == doctor.IDVectorFilesystemFolder {
					if err := atomicfile.MkdirAll(entry.Path, 0o700); err != nil { // as root: the owner of the folder it is made in
						return fmt.Errorf("create vector folder: %w", err)
					}
				}
				st, err := vs.Open(ctx, entry)
				if err != nil {
					return fmt.Errorf("open vector DB %s: %w", entry.ID, err)
				}
				defer st.Close()
				if err := st.Ensure(ctx); err != nil {
					return fmt.Errorf("create in vector DB %s: %w", entry.ID, err)
				}
				return nil
			},
		}
	}
	return c
}

func what(id string) string {
	switch id {
	case doctor.IDVectorQdrantCollection:
		return "collection"
	case doctor.IDVectorRedisIndex:
		return "index"
	case doctor.IDVectorPgvectorExtension:
		return "extension and table"
	case doctor.IDVectorPgvectorTable:
		return "table"
	}
	return "folder"
}

func redactAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = config.Redact(s)
	}
	return out
}
