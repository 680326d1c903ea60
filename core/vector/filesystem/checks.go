package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/internal/shellquote"
)

// Check IDs of this provider.
const (
	// CheckFolder: the folder exists (or can be created), is writable and not open to others.
	CheckFolder = "vector.filesystem.folder"
	// CheckData: the log exists, its header and records are intact, the file is 0600.
	CheckData = "vector.filesystem.data"
)

// Checks returns the folder, data, dimension and metric checks.
func (s *Store) Checks() []vector.Check {
	entry := s.opts.Entry
	checks := []vector.Check{
		{ID: CheckFolder, Entry: entry, Title: "Vector folder exists and is private", Run: s.checkFolder},
		{ID: CheckData, Entry: entry, Title: "Vector log is intact", DependsOn: []string{CheckFolder}, Run: s.checkData,
			Repair: &vector.Repair{
				Plan: func(ctx context.Context) string {
					r, err := s.PlanRepair(ctx)
					if err != nil {
						return fmt.Sprintf("rewrite %s with every intact record and keep the damaged file beside it (cannot read it now: %v)", s.logPath, err)
					}
					return r.String()
				},
				Apply: func(ctx context.Context) error {
					_, err := s.Repair(ctx)
					return err
				},
			}},
	}
	drop := vector.Fix{Commands: []string{fmt.Sprintf("mv %s %s", shellquote.Quote(s.logPath), shellquote.Quote(s.logPath+".old"))}}
	shape := vector.ShapeChecks(s, entry, s.opts.Dimension, s.opts.Metric, drop, CheckData)
	for i := range shape {
		shape[i].Run = s.unlessNew(shape[i].Run)
	}
	return append(checks, shape...)
}

// unlessNew skips a shape check while the store has no log yet: there is nothing to compare,
// and the first write creates the log with the configured dimension and metric.
func (s *Store) unlessNew(run func(context.Context) vector.Result) func(context.Context) vector.Result {
	return func(ctx context.Context) vector.Result {
		if _, err := os.Stat(s.logPath); errors.Is(err, fs.ErrNotExist) {
			return vector.Result{Status: vector.StatusSkip,
				Summary: fmt.Sprintf("no vectors stored yet: %s is created on first write with dimension %d, metric %s", s.logPath, s.opts.Dimension, s.opts.Metric)}
		}
		return run(ctx)
	}
}

func (s *Store) checkFolder(ctx context.Context) vector.Result {
	h, err := s.Health(ctx)
	if err != nil {
		r := vector.FailResult(err)
		if errors.Is(err, vector.ErrNotFound) {
			// A missing folder is created on first use, if its parent lets us.
			parent := filepath.Dir(s.dir)
			for {
				if _, err := os.Stat(parent); err == nil || filepath.Dir(parent) == parent {
					break
				}
				parent = filepath.Dir(parent)
			}
			if werr := writable(parent); werr == nil {
				r.Status = vector.StatusWarn
				r.Summary = fmt.Sprintf("folder %s does not exist yet; Compozy creates it (0700) on first use", s.dir)
			} else {
				r.Summary = fmt.Sprintf("folder %s does not exist and %s is not writable: %v", s.dir, parent, werr)
			}
		}
		return r
	}
	if len(h.Warnings) > 0 {
		return vector.Result{Status: vector.StatusWarn, Summary: h.Warnings[0], Detail: h.Detail,
			Fix: vector.Fix{Text: "keep the vectors private to the user running Compozy", Commands: []string{"chmod 0700 " + shellquote.Quote(s.dir)}}}
	}
	return vector.Result{Status: vector.StatusPass, Summary: fmt.Sprintf("folder %s exists and is writable", s.dir), Detail: h.Detail}
}

func (s *Store) checkData(ctx context.Context) vector.Result {
	info, err := s.Describe(ctx)
	if errors.Is(err, vector.ErrNotFound) {
		r := vector.FailResult(err)
		r.Status = vector.StatusWarn
		r.Summary = fmt.Sprintf("no vectors stored yet: %s is created on first write", s.logPath)
		return r
	}
	if err != nil {
		return vector.FailResult(err)
	}
	fi, err := os.Stat(s.logPath)
	if err != nil {
		return vector.FailResult(s.osErr(ctx, "stat log", err))
	}
	detail := fmt.Sprintf("%s: %d bytes, %d vectors of %d dimensions, metric %s", s.logPath, fi.Size(), info.Count, info.Dimension, info.Metric)
	s.mu.RLock()
	damage := slices.Clone(s.st.damage)
	s.mu.RUnlock()
	if len(damage) > 0 {
		return s.damageResult(damage, detail)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return vector.Result{Status: vector.StatusWarn, Summary: fmt.Sprintf("%s has mode %04o; other users can read the vectors", s.logPath, fi.Mode().Perm()),
			Detail: detail, Fix: vector.Fix{Commands: []string{"chmod 0600 " + shellquote.Quote(s.logPath)}}}
	}
	if len(info.Notes) > 0 {
		return vector.Result{Status: vector.StatusWarn, Summary: info.Notes[0], Detail: detail,
			Fix: vector.Fix{Text: "nothing to do if no write is running: the next write cuts the interrupted one off (only those bytes: nothing intact follows them, and a copy is kept unless they are what a killed writer leaves); earlier data is intact"}}
	}
	summary := fmt.Sprintf("%d vectors, every record's checksum verified", info.Count)
	kept := func(kind, what string) {
		names := s.keptCopies(kind)
		if len(names) == 0 {
			return
		}
		// Say where the kept bytes are, until they are deleted.
		summary += fmt.Sprintf("; %s is kept as %s", what, names[len(names)-1])
		if len(names) > 1 {
			summary += fmt.Sprintf(" (and %d older)", len(names)-1)
		}
		detail += fmt.Sprintf("\ndelete the %s copies once the knowledge base is known to be complete", kind)
	}
	kept(".damaged-", "the damaged log of a repair")
	kept(".torn-", "the damaged end of the log a write cut off")
	return vector.Result{Status: vector.StatusPass, Summary: summary, Detail: detail}
}
