package exitcode

import "testing"

// TestPublishedValues: scripts and the doctor's JSON (summary.exit_code) depend on these
// numbers; DESIGN.md section 2 and docs/cli/index.md publish them.
func TestPublishedValues(t *testing.T) {
	for name, c := range map[string][2]int{
		"OK": {OK, 0}, "Failed": {Failed, 1}, "Usage": {Usage, 2}, "CouldNotRun": {CouldNotRun, 3},
		"Pending": {Pending, 10}, "Drift": {Drift, 11}, "DatabaseNewer": {DatabaseNewer, 13}, "Aborted": {Aborted, 130},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %d, published as %d", name, c[0], c[1])
		}
	}
}
