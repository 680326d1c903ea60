package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
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
