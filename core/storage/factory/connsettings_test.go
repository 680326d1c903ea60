package factory_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/storage/factory"
)

// TestConnSettingsURLRoundTrip: ConnSettings keeps every host, the settings conn_string names
// (not pgx's own, not the secrets), and its URL holds no password and reads back to the same
// settings, for URLs, keyword/value strings, sockets and IPv6 addresses.
func TestConnSettingsURLRoundTrip(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem") // pgx reads the root certificate while parsing
	writeCert(t, ca)
	for _, tc := range []struct {
		name, cs string
		hosts    []string
		ports    []int
		params   map[string]string
		sslmode  string
	}{
		{"url", "postgres://app:s3cret@db1:5433,db2/compozy?sslmode=verify-ca&sslrootcert=CA&search_path=a%20b&pool_max_conns=3&sslpassword=k3y",
			[]string{"db1", "db2"}, []int{5433, 5432}, map[string]string{"sslrootcert": "CA", "search_path": "a b"}, "verify-ca"},
		{"keyword/value", `host=db1,db2 port=1,2 user=app password='s3cret' dbname=compozy target_session_attrs=read-write application_name='my app'`,
			[]string{"db1", "db2"}, []int{1, 2}, map[string]string{"target_session_attrs": "read-write", "application_name": "my app"}, ""},
		{"ssl alias", "postgres://app:s3cret@db/compozy?ssl=true", []string{"db"}, []int{5432}, map[string]string{}, "require"},
		{"socket", "host=/var/run/postgresql user=app password=s3cret dbname=compozy", []string{"/var/run/postgresql"}, []int{5432}, map[string]string{}, ""},
		{"ipv6", "postgres://app:s3cret@[::1]:5433/compozy", []string{"::1"}, []int{5433}, map[string]string{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cs = strings.ReplaceAll(tc.cs, "=CA", "="+ca)
			if tc.params["sslrootcert"] == "CA" {
				tc.params["sslrootcert"] = ca
			}
			db := config.Database{Driver: config.DriverPostgres, ConnString: tc.cs, ConnectTimeout: 3 * time.Second}
			cs, err := factory.PostgresConnSettings(db)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cs.Hosts, tc.hosts) || !reflect.DeepEqual(cs.Ports, tc.ports) || cs.SSLMode != tc.sslmode || cs.Password != "s3cret" {
				t.Errorf("hosts %v ports %v sslmode %q password set %v", cs.Hosts, cs.Ports, cs.SSLMode, cs.Password != "")
			}
			if !reflect.DeepEqual(cs.Params, tc.params) {
				t.Errorf("params %v, want %v", cs.Params, tc.params)
			}
			u := cs.URL()
			if strings.Contains(u, "s3cret") || strings.Contains(u, "k3y") {
				t.Fatalf("a secret in the URL: %s", u)
			}
			back, err := factory.PostgresConnSettings(config.Database{Driver: config.DriverPostgres, ConnString: u})
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			if !reflect.DeepEqual(back.Hosts, cs.Hosts) || !reflect.DeepEqual(back.Ports, cs.Ports) || back.User != cs.User ||
				back.Database != cs.Database || back.SSLMode != cs.SSLMode || back.ConnectTimeout != 3*time.Second ||
				!reflect.DeepEqual(back.Params, cs.Params) || back.Password != "" {
				t.Errorf("%s reads back as %+v, want %+v", u, back, cs)
			}
		})
	}
}

// writeCert writes a self-signed certificate in PEM to path.
func writeCert(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "compozy test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
