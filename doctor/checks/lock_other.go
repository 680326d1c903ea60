//go:build !linux

package checks

import (
	"context"

	"compozy.dev/setup/doctor"
)

func lockResult(context.Context, string) doctor.Result {
	return doctor.Skip("skipped: finding lock holders needs Linux's /proc/locks")
}
