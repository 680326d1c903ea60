package postgres

import (
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// withLockTimeout asks for lock_timeout d at startup (in whole milliseconds, at least 1), unless
// d is 0 or the host is a managed pooler known by its name (which refuses startup parameters
// it does not track). It reports whether it asked.
func withLockTimeout(cfg *pgxpool.Config, d time.Duration) bool {
	cc := cfg.ConnConfig
	if d <= 0 || HostPooler(cc.Host, int(cc.Port)).Found() {
		return false
	}
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["lock_timeout"] = strconv.FormatInt(max(d.Milliseconds(), 1), 10)
	return true
}

// unsupportedStartupParameter reports whether err is a pooler's refusal of a startup parameter:
// PgBouncer answers "unsupported startup parameter" with SQLSTATE 08P01 (protocol_violation),
// which PostgreSQL itself never sends for a run-time setting.
func unsupportedStartupParameter(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "08P01"
}
