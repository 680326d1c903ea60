package storage

import (
	"fmt"
	"time"
)

// timeLayout is how timestamps are written where a database stores them as text (SQLite): RFC
// 3339 in UTC with a fixed nine-digit fraction, so that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTimeText formats a timestamp the way the SQLite repositories store it. Tools that write
// rows directly (compozy db copy) use it to write what the driver writes.
func FormatTimeText(t time.Time) string { return t.UTC().Format(timeLayout) }

// ParseTimeText reads a timestamp stored as text in any of the forms found in Compozy databases
// (ours, Compozy's own RFC3339Nano and RFC3339, and SQLite's datetime('now') of the column
// defaults and the task trigger), and returns it in UTC.
func ParseTimeText(s string) (time.Time, error) {
	for _, layout := range [...]string{
		time.RFC3339Nano,
		time.RFC3339,
		"2006-01-02 15:04:05.999999999-07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04:05",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse timestamp %q: not RFC 3339 or SQLite datetime", s)
}
