package migrate

import "strings"

// Recreates reports whether d's Fix only creates what the migrations make and the database
// lacks: the CREATE INDEX or CREATE TRIGGER of a missing index or trigger. These are the fixes
// compozy doctor --fix applies. A different trigger's fix drops the one in place first, and a
// comment's replaces text someone wrote, so they are printed for a person to run; an extra
// object has no fix at all (compozy never drops it).
func (d Drift) Recreates() bool {
	return d.Kind == DriftMissing && d.Fix != "" &&
		(strings.HasPrefix(d.Object, "index ") || strings.HasPrefix(d.Object, "trigger "))
}
