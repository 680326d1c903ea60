package wizard

import (
	"errors"
	"slices"
	"strings"
)

// KeepDatabase returns merged (the file Merge made from existing) with its database: section
// put back as existing has it, byte for byte: the answers change the vector DBs, not the
// database that holds the data. existing must have a database: section.
func KeepDatabase(existing, merged []byte) ([]byte, error) {
	oldTop, err := topMapping(existing)
	if err != nil {
		return nil, err
	}
	oldDB := findKey(oldTop, "database")
	if oldDB == nil {
		return nil, errors.New("the existing file has no database: section to keep")
	}
	oldLines := splitLines(string(existing))
	s, e := sectionLines(oldLines, oldTop, oldDB)
	keep := oldLines[s:e]

	newTop, err := topMapping(merged)
	if err != nil {
		return nil, err
	}
	newDB := findKey(newTop, "database")
	if newDB == nil {
		return nil, errors.New("the new file has no database: section")
	}
	lines := splitLines(string(merged))
	s, e = sectionLines(lines, newTop, newDB)
	return []byte(strings.Join(slices.Concat(lines[:s], keep, lines[e:]), "")), nil
}
