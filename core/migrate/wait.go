package migrate

import (
	"context"
	"slices"
	"time"
)

// Look is one look at a database for Wait: its check result and whether the SQLite file does
// not exist yet, or the error that kept it from being read (a server still starting, say).
type Look struct {
	Check   *CheckResult
	Missing bool
	Err     error
}

// settled reports whether waiting longer cannot change the answer: the database is current, or
// it holds versions this binary does not know (only a newer binary can change that).
func (l Look) settled() bool {
	if l.Err != nil || l.Check == nil {
		return false
	}
	if len(l.Check.Unknown) > 0 {
		return true
	}
	return !l.Missing && l.Check.UpToDate()
}

// sameAs reports whether l says what prev said: the same error text, or the same versions
// pending, unknown and broken. Wait reports a look only when it differs from the one before.
func (l Look) sameAs(prev Look) bool {
	switch {
	case (l.Err == nil) != (prev.Err == nil):
		return false
	case l.Err != nil:
		return l.Err.Error() == prev.Err.Error()
	case l.Check == nil || prev.Check == nil:
		return l.Check == prev.Check
	}
	a, b := l.Check, prev.Check
	return l.Missing == prev.Missing && a.Current == b.Current &&
		slices.EqualFunc(a.Pending, b.Pending, func(x, y Migration) bool { return x.Version == y.Version }) &&
		slices.Equal(a.Unknown, b.Unknown) && slices.Equal(a.Problems, b.Problems)
}

// Wait looks at the database every interval until it is current or newer than this binary, or
// ctx ends (the caller's time limit, or Ctrl-C). It calls changed with the first look and with
// each look that differs from the one before, so a waiting script prints what is pending once,
// not once a second. It returns the last look and whether the answer is settled; when it is not,
// ctx ended first.
func Wait(ctx context.Context, interval time.Duration, look func(context.Context) Look, changed func(Look)) (Look, bool) {
	var last Look
	t := time.NewTimer(0)
	defer t.Stop()
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return last, false
		case <-t.C:
		}
		l := look(ctx)
		if ctx.Err() != nil && !first {
			// The look was cut short by the deadline; what it saw says nothing new.
			return last, false
		}
		if first || !l.sameAs(last) {
			changed(l)
		}
		last = l
		if l.settled() {
			return l, true
		}
		t.Reset(interval)
	}
}
