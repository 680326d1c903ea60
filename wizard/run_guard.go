package wizard

import (
	"context"
	"fmt"

	"compozy.dev/setup/internal/shellquote"
)

// guard asks (or, without questions, decides) what to do when the answers would leave the data
// of the current database behind. Without questions the current database is kept unless a
// --db-* flag named the new one.
func (r *Run) guard(ctx context.Context, held *Held, next string) (DataChoice, error) {
	if held.Unreadable != "" {
		r.println("! %s names %s, which compozy cannot read now (%s): it may hold Compozy data; the answers point at %s.",
			r.env.Target.Shown, held.Target, held.Unreadable, next)
	} else {
		r.println("! %s names %s, which holds Compozy data (%s); the answers point at %s.",
			r.env.Target.Shown, held.Target, held.Describe(), next)
	}
	if !r.opts.Interactive {
		if r.G.DatabaseNamed() {
			r.println("  The --db-* flags name the new database, so it is written; the data stays in %s.", held.Target)
			r.println("  Copy it over with: compozy db copy --from %s --to %s", shellquote.Quote(held.CopyFrom()), shellquote.Quote(r.env.Target.Shown))
			return SwitchAnyway, nil
		}
		r.println("  Keeping the current database (name another with --db-path, --db-driver or --db-conn-string to switch).")
		return KeepCurrent, nil
	}
	if held.Unreadable != "" {
		// A database that cannot be read cannot be copied either: keep it, or leave it knowingly.
		choice, err := r.choose(ctx, "The current database may hold Compozy data.",
			fmt.Sprintf("%s cannot be read now (%s). The answers point at %s.", held.Target, held.Unreadable, next),
			"Keep the current database", "Switch anyway (whatever it holds stays there)")
		if choice == 1 {
			return SwitchAnyway, err
		}
		return KeepCurrent, err
	}
	choice, err := r.choose(ctx, "The current database holds Compozy data.",
		fmt.Sprintf("%s holds %d rows (%s). The answers point at %s.", held.Target, held.Total, held.Describe(), next),
		"Keep the current database", "Switch, and copy the data into the new database (compozy db copy)", "Switch anyway (the data stays where it is)")
	return DataChoice(choice), err
}
