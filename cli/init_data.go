package cli

import (
	"context"
	"fmt"
	"io"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/dbcopy"
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/wizard"
)

// copyHeld copies the data that `init --update` would leave behind (wizard.HeldData: the
// database the file named holds Compozy data, the answers point elsewhere, the user chose
// "switch and copy") into the database of the new file, verified, after it was written.
func copyHeld(ctx context.Context, w io.Writer, held *wizard.Held, next config.Database) error {
	fmt.Fprintf(w, "Copying the data from %s into %s…\n", held.Target, factory.Target(next))
	res, err := dbcopy.Copy(ctx, held.DB, next, dbcopy.Options{})
	if res != nil {
		printCopyResult(w, res)
	}
	if err != nil {
		return fmt.Errorf("copy the data into the new database (compozy.yaml already names it; the data is still in %s): %w", held.Target, err)
	}
	fmt.Fprintf(w, "✓ Copied %d rows; every table verified.\n", res.Rows)
	return nil
}
