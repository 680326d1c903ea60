package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Selection is the outcome of Select: the checks to run, and which of their results to show.
type Selection struct {
	Checks []Check
	// Shown[i] says whether the result of Checks[i] is reported; dependencies pulled in by
	// --only run without being shown.
	Shown []bool
}

// Select applies --only and --skip (check IDs or group names) to checks. --only keeps the named
// checks and runs their dependencies quietly; --skip leaves checks out, and checks that depend on
// a left-out check are skipped when they run. An unknown name is an error naming the valid ones.
func Select(checks []Check, only, skip []string) (Selection, error) {
	known := map[string]bool{}
	for _, g := range Groups() {
		known[g] = true
	}
	for _, in := range Registry() {
		known[in.ID] = true
	}
	for _, c := range checks {
		known[c.ID] = true
	}
	for _, n := range append(slices.Clone(only), skip...) {
		if !known[n] {
			return Selection{}, fmt.Errorf("unknown check or group %q; run 'compozy doctor list' for the IDs (groups: %s)",
				n, strings.Join(Groups(), ", "))
		}
	}
	match := func(c Check, names []string) bool {
		return slices.Contains(names, c.ID) || slices.Contains(names, c.Group)
	}
	want := make([]bool, len(checks))
	for i, c := range checks {
		want[i] = len(only) == 0 || match(c, only)
	}
	// Pull in dependencies of wanted checks, transitively.
	need := slices.Clone(want)
	for changed := true; changed; {
		changed = false
		for i, c := range checks {
			if !need[i] {
				continue
			}
			for j, d := range checks {
				if !need[j] && slices.Contains(c.DependsOn, d.ID) && (d.Entry == "" || d.Entry == c.Entry) {
					need[j], changed = true, true
				}
			}
		}
	}
	var sel Selection
	skipped := map[string]bool{}
	for i, c := range checks {
		if match(c, skip) {
			skipped[c.ID] = true
			continue
		}
		if need[i] {
			sel.Checks = append(sel.Checks, c)
			sel.Shown = append(sel.Shown, want[i])
		}
	}
	// A check whose dependency was left out by --skip is skipped too, saying so.
	for i, c := range sel.Checks {
		for _, d := range c.DependsOn {
			if skipped[d] {
				why := fmt.Sprintf("skipped: depends on %s, left out by --skip", d)
				c.Run = func(context.Context) Result { return Skip(why) }
				c.DependsOn = nil
				break
			}
		}
		sel.Checks[i] = c
	}
	return sel, nil
}

// Visible returns the results of the checks the user asked for, in order.
func (s Selection) Visible(results []Result) []Result {
	out := make([]Result, 0, len(results))
	for i, r := range results {
		if i < len(s.Shown) && s.Shown[i] {
			out = append(out, r)
		}
	}
	return out
}
