package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/postgres"
	"compozy.dev/setup/core/storage/storagetest"
	"compozy.dev/setup/internal/testenv"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens a fresh, migrated test database.
func open(t *testing.T) *postgres.DB {
	t.Helper()
	dsn := testenv.PostgresDB(t)
	d, err := postgres.Open(testCtx(t), postgres.Options{ConnString: dsn, MaxConns: 8})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	storagetest.Migrate(t, "postgres", d.SQLDB())
	return d
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t) })
}

// awkward are passwords (and names) that break naive DSN building.
var awkward = []string{
	"plain",
	"with space",
	"it's",
	`dq"uote`,
	"at@sign",
	"sl/ash",
	`back\slash`,
	`trailing\`,
	`\'`,
	"colon:and?query=1&x#frag",
	"percent%20",
	"  leading and trailing  ",
	"ünïcødé 密码",
	`all of them: '@/\ "#?&=% x`,
}

func TestPoolConfigFromFields(t *testing.T) {
	for _, pw := range awkward {
		cfg, err := postgres.PoolConfig(postgres.Options{
			Host: "db.example.internal", Port: 6543, User: "app " + pw, Password: pw, Name: "state " + pw,
			SSLMode: "disable", MaxConns: 7, MinIdleConns: 2, ConnectTimeout: 3 * time.Second,
		})
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		cc := cfg.ConnConfig
		if cc.Password != pw || cc.User != "app "+pw || cc.Database != "state "+pw {
			t.Errorf("password %q: parsed user %q password %q database %q", pw, cc.User, cc.Password, cc.Database)
		}
		if cc.Host != "db.example.internal" || cc.Port != 6543 || cc.TLSConfig != nil {
			t.Errorf("password %q: host %s port %d tls %v", pw, cc.Host, cc.Port, cc.TLSConfig != nil)
		}
		if cfg.MaxConns != 7 || cfg.MinIdleConns != 2 || cc.ConnectTimeout != 3*time.Second {
			t.Errorf("pool settings: max %d min idle %d timeout %s", cfg.MaxConns, cfg.MinIdleConns, cc.ConnectTimeout)
		}
	}
}

func TestPasswordOverridesConnString(t *testing.T) {
	for _, cs := range []string{
		"postgres://app:old@db:5432/compozy?sslmode=disable",
		"host=db user=app password=old dbname=compozy sslmode=disable",
	} {
		for _, pw := range awkward {
			cfg, err := postgres.PoolConfig(postgres.Options{ConnString: cs, Password: pw})
			if err != nil {
				t.Fatalf("%s: %v", cs, err)
			}
			if cfg.ConnConfig.Password != pw || cfg.ConnConfig.User != "app" || cfg.ConnConfig.Database != "compozy" {
				t.Errorf("%s with password %q: got password %q user %q db %q", cs, pw,
					cfg.ConnConfig.Password, cfg.ConnConfig.User, cfg.ConnConfig.Database)
			}
		}
		cfg, err := postgres.PoolConfig(postgres.Options{ConnString: cs})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ConnConfig.Password != "old" {
			t.Errorf("%s without a separate password: got %q, want the connection string's", cs, cfg.ConnConfig.Password)
		}
	}
}

func TestErrorsNeverContainThePassword(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	ctx := testCtx(t)
	for name, o := range map[string]postgres.Options{
		"URL with a bad port":     {ConnString: "postgres://app:" + secret + "@db:notaport/x"},
		"URL that does not parse": {ConnString: "postgres://app:" + secret + "@[::1/x"},
		"key/value with bad port": {ConnString: "host=db password=" + secret + " port=abc"},
		"unterminated quote":      {ConnString: "host=db password='" + secret},
		"bad sslmode in URL":      {ConnString: "postgres://app:" + secret + "@db/x?sslmode=sometimes"},
		"bad sslmode in fields":   {Host: "db", Password: secret, SSLMode: "sometimes"},
		"NUL in password":         {Host: "db", Password: secret + "\x00"},
		"nothing listens":         {Host: "127.0.0.1", Port: 1, User: "app", Password: secret, SSLMode: "disable", ConnectTimeout: 2 * time.Second},
		"unknown host":            {Host: "no-such-host.invalid", User: "app", Password: secret, SSLMode: "disable", ConnectTimeout: 2 * time.Second},
	} {
		d, err := postgres.Open(ctx, o)
		if err == nil {
			_ = d.Close()
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error contains the password: %v", name, err)
		}
		if target := postgres.Target(o); strings.Contains(target, secret) {
			t.Errorf("%s: target contains the password: %s", name, target)
		}
	}
}

func TestTarget(t *testing.T) {
	t.Setenv("PGSSLMODE", "")
	for _, tc := range []struct {
		opts postgres.Options
		want string
	}{
		{postgres.Options{Host: "db", Port: 5432, User: "app", Password: "x y'z", Name: "compozy", SSLMode: "disable"},
			"postgres://app:[redacted]@db:5432/compozy?sslmode=disable"},
		{postgres.Options{ConnString: "postgres://app:pw@db:6000/compozy?sslmode=require"},
			"postgres://app:[redacted]@db:6000/compozy?sslmode=require"},
		{postgres.Options{ConnString: "host=db port=6000 user=app password='p w' dbname=compozy sslmode='verify-full'"},
			"postgres://app:[redacted]@db:6000/compozy?sslmode=verify-full"},
		{postgres.Options{ConnString: "postgres://app@db/compozy"},
			"postgres://app@db:5432/compozy?sslmode=prefer"},
		{postgres.Options{ConnString: "postgres://app@db/compozy", Password: "late"},
			"postgres://app:[redacted]@db:5432/compozy?sslmode=prefer"},
		{postgres.Options{Host: "/var/run/postgresql", User: "postgres", Name: "compozy"},
			"postgres://postgres@/compozy?host=/var/run/postgresql&sslmode=prefer"},
		{postgres.Options{ConnString: "postgres://app@%"},
			"postgres (invalid connection settings)"},
	} {
		if got := postgres.Target(tc.opts); got != tc.want {
			t.Errorf("Target(%+v)\n got %s\nwant %s", tc.opts, got, tc.want)
		}
	}
}

func TestRedactedAndPing(t *testing.T) {
	d := open(t)
	if got := d.Redacted(); !strings.HasPrefix(got, "postgres://postgres@127.0.0.1:5432/compozy_test_") || !strings.HasSuffix(got, "?sslmode=disable") {
		t.Errorf("Redacted() = %s", got)
	}
	if err := d.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.SQLDB().QueryRowContext(testCtx(t), "SELECT count(*) FROM goose_db_version").Scan(&n); err != nil || n < 2 {
		t.Errorf("goose_db_version rows %d (%v)", n, err)
	}
}

func TestConnectWithFields(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	base, err := postgres.PoolConfig(postgres.Options{ConnString: dsn})
	if err != nil {
		t.Fatal(err)
	}
	cc := base.ConnConfig
	// Trust authentication ignores the password, but it still has to survive the DSN.
	d, err := postgres.Open(testCtx(t), postgres.Options{Host: cc.Host, Port: int(cc.Port), User: cc.User,
		Password: `all of them: '@/\ "#?&=% x`, Name: cc.Database, SSLMode: "disable", MaxConns: 2})
	if err != nil {
		t.Fatalf("open from fields: %v", err)
	}
	defer d.Close()
	if err := d.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestPoolConfigConnStringSettingsWin(t *testing.T) {
	defaults := postgres.Options{MaxConns: 25, ConnectTimeout: 5 * time.Second, ConnMaxLifetime: time.Hour}
	for _, cs := range []string{
		"postgres://u@127.0.0.1/db?connect_timeout=1&pool_max_conns=3&pool_max_conn_lifetime=2m",
		"host=127.0.0.1 user=u dbname=db connect_timeout=1 pool_max_conns=3 pool_max_conn_lifetime=2m",
	} {
		o := defaults
		o.ConnString = cs
		cfg, err := postgres.PoolConfig(o)
		if err != nil {
			t.Fatalf("%s: %v", cs, err)
		}
		if cfg.ConnConfig.ConnectTimeout != time.Second || cfg.MaxConns != 3 || cfg.MaxConnLifetime != 2*time.Minute {
			t.Errorf("%s: connect timeout %s, max conns %d, lifetime %s; want the connection string's 1s, 3, 2m",
				cs, cfg.ConnConfig.ConnectTimeout, cfg.MaxConns, cfg.MaxConnLifetime)
		}
	}
	o := defaults
	o.ConnString = "postgres://u@127.0.0.1/db"
	cfg, err := postgres.PoolConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnConfig.ConnectTimeout != 5*time.Second || cfg.MaxConns != 25 {
		t.Errorf("without settings in the string: connect timeout %s, max conns %d; want the config's 5s, 25", cfg.ConnConfig.ConnectTimeout, cfg.MaxConns)
	}
}
