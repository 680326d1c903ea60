package backup

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
)

// TestPgDumpDNSBounded: libpq resolves the host before PGCONNECT_TIMEOUT starts counting, so Run
// looks the name up first within connect_timeout; a DNS server that never answers stops the
// backup in that time, with the host and the setting named, before any file is created.
func TestPgDumpDNSBounded(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silentDNS := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", silent.LocalAddr().String())
	}}

	db := config.DefaultDatabase()
	db.Driver, db.Host, db.Port, db.User, db.Name, db.Password = config.DriverPostgres, "db.compozy-test.example", 5432, "app", "compozy", "s3cr3t-dns"
	db.ConnectTimeout = time.Second
	out := t.TempDir() + "/x.dump"
	p, err := NewPgDump(db, out)
	if err != nil {
		t.Fatal(err)
	}
	p.resolver = silentDNS
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = p.resolveInTime(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("resolveInTime = %v (context %v), want a DNS timeout within connect_timeout", err, ctx.Err())
	}
	msg := err.Error()
	for _, want := range []string{"no answer from DNS for db.compozy-test.example within 1s", "database.connect_timeout"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cr3t-dns") {
		t.Errorf("the password is in the error: %s", msg)
	}

	// An address, a socket, or no limit: nothing is looked up.
	for _, host := range []string{"127.0.0.1", "::1", "/var/run/postgresql"} {
		p.hosts = []string{host}
		if err := p.resolveInTime(ctx); err != nil {
			t.Errorf("host %s: %v", host, err)
		}
	}
	p.hosts, p.configured = []string{"db.compozy-test.example"}, 0
	if err := p.resolveInTime(ctx); err != nil {
		t.Errorf("connect_timeout 0 (no limit): %v", err)
	}
}
