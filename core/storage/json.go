package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// checkJSON returns an error wrapping ErrInvalid when raw is neither nil (SQL NULL) nor valid
// JSON. name is the field, for the message. The Validate methods call it so that both dialects
// reject bad JSON the same way, before the database sees it.
func checkJSON(name string, raw json.RawMessage) error {
	if raw == nil || json.Valid(raw) {
		return nil
	}
	return fmt.Errorf("%s is not valid JSON: %w", name, ErrInvalid)
}

// checkUsage is checkJSON for a usage column, which must also be a JSON array.
func checkUsage(name string, raw json.RawMessage) error {
	if err := checkJSON(name, raw); err != nil || raw == nil {
		return err
	}
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		return fmt.Errorf("%s is not a JSON array: %w", name, ErrInvalid)
	}
	return nil
}
