package postgres

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestConnectErrorNamesWhatDidNotAnswer: a connection that runs out of time names what did not
// answer: the server (as configured, with its port), or the DNS for a host name whose lookup
// never came back; never the password.
func TestConnectErrorNamesWhatDidNotAnswer(t *testing.T) {
	silentDNS, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentDNS.Close()
	silentTCP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentTCP.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silentTCP.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", silentDNS.LocalAddr().String())
	}}
	port := silentTCP.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name, host, want string
	}{
		{"server", "127.0.0.1", "no answer from " + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + " within 1s (database.connect_timeout)"},
		{"dns", "db.compozy-test.example", "no answer from DNS for db.compozy-test.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Host: tc.host, Port: port, User: "app", Name: "x", Password: "s3cr3t-ce", SSLMode: "disable", ConnectTimeout: time.Second}
			cfg, err := PoolConfig(opts)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ConnConfig.LookupFunc = resolver.LookupHost
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // bounds the lookup here
			defer cancel()
			_, cerr := pgx.ConnectConfig(ctx, cfg.ConnConfig)
			if cerr == nil {
				t.Fatal("connected to a server that never answers")
			}
			err = ConnectError("postgres://app:[redacted]@x", cfg.ConnConfig, cerr)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t-ce") {
				t.Errorf("the password is in the error: %s", err)
			}
		})
	}
}
