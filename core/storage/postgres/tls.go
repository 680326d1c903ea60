package postgres

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoTLS is ServerCertificates' answer from a server that does not offer TLS (it answered
// the SSLRequest with 'N'), or from a Unix socket, where PostgreSQL never uses TLS.
var ErrNoTLS = errors.New("the server does not offer TLS")

// ServerCertificates asks the first server opts name for TLS and returns the certificates it
// presents (the server's own first), without verifying them and without logging in: a TCP
// connection, PostgreSQL's SSLRequest, a TLS handshake, closed. It is bounded by
// ConnectTimeout (10 s when none) and ctx.
func ServerCertificates(ctx context.Context, opts Options) ([]*x509.Certificate, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	if strings.HasPrefix(cc.Host, "/") {
		return nil, ErrNoTLS
	}
	limit := cc.ConnectTimeout
	if limit <= 0 {
		limit = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	addr := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// SSLRequest: length 8, then the request code 80877103.
	var req [8]byte
	binary.BigEndian.PutUint32(req[0:4], 8)
	binary.BigEndian.PutUint32(req[4:8], 80877103)
	if _, err := conn.Write(req[:]); err != nil {
		return nil, fmt.Errorf("ask %s for TLS: %w", addr, err)
	}
	var answer [1]byte
	if _, err := io.ReadFull(conn, answer[:]); err != nil {
		return nil, fmt.Errorf("ask %s for TLS: %w", addr, err)
	}
	if answer[0] != 'S' {
		return nil, ErrNoTLS
	}
	// Only to read what the server presents; the caller verifies it as the settings say.
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: serverName(cc.Host)}) //nolint:gosec // read, then verified by the caller
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("TLS handshake with %s: no certificate presented", addr)
	}
	return certs, nil
}

// serverName is the SNI name for host: none for an IP address.
func serverName(host string) string {
	if net.ParseIP(host) != nil {
		return ""
	}
	return host
}

// ServerCertFile logs in to the first server opts name over TLS that accepts only the
// certificate leaf (the one ServerCertificates returned: the server must hold its key) and
// returns the server's ssl_cert_file, made absolute with data_directory when it is relative
// (data_directory needs a superuser or pg_read_all_settings; without it a relative name is
// returned as it is). For the doctor to name a self-signed certificate as sslrootcert; no
// other setting of the connection is verified. Bounded by ConnectTimeout (10 s when none).
func ServerCertFile(ctx context.Context, opts Options, leaf *x509.Certificate) (string, error) {
	cfg, err := PoolConfig(opts)
	if err != nil {
		return "", err
	}
	cc := cfg.ConnConfig
	if strings.HasPrefix(cc.Host, "/") {
		return "", ErrNoTLS
	}
	limit := cc.ConnectTimeout
	if limit <= 0 {
		limit = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cc.Fallbacks = nil
	cc.TLSConfig = &tls.Config{InsecureSkipVerify: true, ServerName: serverName(cc.Host), //nolint:gosec // pinned below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], leaf.Raw) {
				return errors.New("the server presented another certificate")
			}
			return nil
		}}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var file string
	if err := conn.QueryRow(ctx, "SHOW ssl_cert_file").Scan(&file); err != nil {
		return "", err
	}
	if file != "" && !filepath.IsAbs(file) {
		var dir string
		if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err == nil && dir != "" {
			file = filepath.Join(dir, file)
		}
	}
	return file, nil
}
