package cli

import (
	"encoding/json"
	"fmt"
	"io"
)

// writeJSON writes v as the indented JSON document of a --json flag, the one way every
// command prints one.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
