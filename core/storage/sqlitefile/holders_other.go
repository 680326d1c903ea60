//go:build !linux

package sqlitefile

import (
	"errors"
	"fmt"
	"strconv"
)

// Holder is another process that has the database open with a lock.
type Holder struct {
	PID     int
	Command string
	Write   bool
}

func (h Holder) String() string { return fmt.Sprintf("PID %s", strconv.Itoa(h.PID)) }

// Holders is Linux-only (/proc/locks).
func Holders(path, lockPath string) ([]Holder, error) {
	return nil, errors.New("who holds a lock can only be read on Linux (/proc/locks)")
}
