package qdrant_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/core/vector/qdrant"
	"compozy.dev/setup/core/vector/qdrant/qdranttest"
	"compozy.dev/setup/core/vector/vectortest"
)

func open(t testing.TB, opts qdrant.Options) *qdrant.Store {
	t.Helper()
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	s, err := qdrant.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := qdranttest.Start(t)
	vectortest.Run(t, func(t *testing.T, name string, dim int, m vector.Metric) vector.Store {
		return open(t, qdrant.Options{Entry: "main", URL: srv.URL(), Collection: name, Dimension: dim, Metric: m})
	}, vectortest.Options{})
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		url, addr, rest string
		tls             bool
		note            string
	}{
		{"http://localhost:6333", "localhost:6334", "http://localhost:6333", false, "REST port"},
		{"http://qdrant", "qdrant:6334", "http://qdrant:6333", false, "REST port"},
		{"https://q.example.com:443", "q.example.com:6334", "https://q.example.com:443", true, "grpc://q.example.com:PORT"},
		{"grpc://10.0.0.5:7334", "10.0.0.5:7334", "http://10.0.0.5:6333", false, "gRPC port"},
		{"grpcs://[::1]", "[::1]:6334", "https://[::1]:6333", true, "gRPC port"},
		{"", "localhost:6334", "http://localhost:6333", false, "REST port"},
	} {
		ep, err := qdrant.ParseURL(c.url)
		if err != nil || ep.Addr != c.addr || ep.REST != c.rest || ep.TLS != c.tls || !strings.Contains(ep.Note, c.note) {
			t.Errorf("ParseURL(%q) = %+v, %v; want addr %s rest %s tls %v note ~%q", c.url, ep, err, c.addr, c.rest, c.tls, c.note)
		}
	}
	for _, bad := range []string{"redis://x:6379", "http://", "http://a b"} {
		if _, err := qdrant.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

// TestUnreachable: a stopped server and a silent one both fail within the caller's deadline,
// with an error naming the gRPC address tried.
func TestUnreachable(t *testing.T) {
	srv := qdranttest.Start(t)
	addr := srv.Addr
	srv.Stop()
	s := open(t, qdrant.Options{URL: "grpc://" + addr, Dimension: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Health(ctx)
	t.Logf("stopped server: Health returned after %v: %v", time.Since(start), err)
	if !errors.Is(err, vector.ErrUnreachable) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "health check") {
		t.Fatalf("Health of a stopped server: %v; want ErrUnreachable naming %s and the step", err, addr)
	}
	r := vector.FailResult(err)
	if r.Status != vector.StatusFail || !strings.Contains(r.Summary, addr) || len(r.Fix.Commands) == 0 {
		t.Fatalf("result %+v", r)
	}

	silent := qdranttest.StartSilent(t)
	s = open(t, qdrant.Options{URL: "grpc://" + silent.Addr, Dimension: 4})
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = s.Health(ctx)
	t.Logf("silent server: Health returned after %v (deadline 300ms): %v", time.Since(start), err)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, vector.ErrUnreachable) || !strings.Contains(err.Error(), silent.Addr) {
		t.Fatalf("Health of a silent server: %v; want DeadlineExceeded and ErrUnreachable naming %s", err, silent.Addr)
	}
	// The REST address in an http:// URL is explained.
	s = open(t, qdrant.Options{URL: "http://" + silent.Addr, Dimension: 4})
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Health(ctx)
	if err == nil || !strings.Contains(err.Error(), "grpc://") || !strings.Contains(err.Error(), ":6334") {
		t.Fatalf("Health via a REST url: %v; want the gRPC address and the grpc:// hint", err)
	}
}

func TestAPIKeyAndNoLogs(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(prev)

	srv := qdranttest.Start(t)
	srv.SetAPIKey("s3cret-key")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	none := open(t, qdrant.Options{URL: srv.URL(), Dimension: 4})
	_, err := none.Health(ctx)
	if !errors.Is(err, vector.ErrAuth) || !strings.Contains(err.Error(), "none is configured") {
		t.Fatalf("no key: %v", err)
	}
	wrong := open(t, qdrant.Options{URL: srv.URL() + "?api_key=wrong-key", Dimension: 4})
	_, err = wrong.Health(ctx)
	if !errors.Is(err, vector.ErrAuth) || strings.Contains(err.Error(), "wrong-key") {
		t.Fatalf("wrong key: %v (must not show the key)", err)
	}
	env := map[string]string{"MY_QDRANT_KEY": "s3cret-key"}
	for _, u := range []string{srv.URL() + "?api_key_env=MY_QDRANT_KEY", "grpc://:s3cret-key@" + srv.Addr} {
		s := open(t, qdrant.Options{URL: u, Dimension: 4, Getenv: func(k string) string { return env[k] }})
		h, err := s.Health(ctx)
		if err != nil {
			t.Fatalf("%s: %v", strings.ReplaceAll(u, "s3cret-key", "KEY"), err)
		}
		if len(h.Warnings) == 0 || !strings.Contains(strings.Join(h.Warnings, " "), "without TLS") {
			t.Fatalf("warnings %v: want the plaintext-key warning", h.Warnings)
		}
		for _, c := range s.Checks() {
			if c.ID != qdrant.CheckReachable {
				continue
			}
			if r := c.Run(ctx); r.Status != vector.StatusWarn || !strings.Contains(r.Fix.Text, "https://") {
				t.Fatalf("reachable check, key without TLS: %+v (want the TLS fix)", r)
			}
		}
		if strings.Contains(s.Target(), "s3cret") {
			t.Fatalf("target shows the key: %s", s.Target())
		}
	}
	if _, err := qdrant.Open(ctx, qdrant.Options{URL: srv.URL() + "?api_key_env=UNSET_VAR", Dimension: 4, Getenv: func(string) string { return "" }}); err == nil ||
		!strings.Contains(err.Error(), "UNSET_VAR") {
		t.Fatalf("unset key variable: %v", err)
	}
	if logs.Len() != 0 {
		t.Fatalf("go-client logged through slog.Default: %s", logs.String())
	}
}

func TestVersionGap(t *testing.T) {
	for _, c := range []struct{ client, server, want string }{
		{"1.17.1", "1.17.0", ""},
		{"1.17.1", "1.16.3", ""},
		{"1.17.1", "1.18.0", ""},
		{"1.17.1", "1.15.0", "upgrade Qdrant"},
		{"1.17.1", "1.19.2", "upgrade compozy"},
		{"1.17.1", "2.0.0", "upgrade compozy"},
		{"1.17.1", "", "cannot be compared"},
	} {
		if got := qdrant.VersionGap(c.client, c.server); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("VersionGap(%s, %s) = %q, want ~%q", c.client, c.server, got, c.want)
		}
	}
	srv := qdranttest.Start(t)
	srv.Version = "1.9.0"
	s := open(t, qdrant.Options{URL: srv.URL(), Dimension: 4})
	for _, c := range s.Checks() {
		if c.ID == qdrant.CheckReachable {
			r := c.Run(context.Background())
			if r.Status != vector.StatusWarn || !strings.Contains(r.Summary, "1.9.0") || !strings.Contains(r.Summary, "upgrade Qdrant") ||
				!strings.Contains(r.Fix.Text, "minor version") {
				t.Fatalf("reachable check with server 1.9.0: %+v", r)
			}
		}
	}
}

func TestMissingCollectionCheck(t *testing.T) {
	srv := qdranttest.Start(t)
	s := open(t, qdrant.Options{URL: "grpc://" + srv.Addr, Collection: "docs", Dimension: 1536})
	var ids []string
	for _, c := range s.Checks() {
		ids = append(ids, c.ID)
		if c.ID == qdrant.CheckCollection {
			r := c.Run(context.Background())
			if r.Status != vector.StatusFail || !strings.Contains(r.Summary, `"docs" does not exist`) ||
				len(r.Fix.Commands) != 1 || !strings.Contains(r.Fix.Commands[0], `"size":1536`) || !strings.Contains(r.Fix.Commands[0], "/collections/docs") {
				t.Fatalf("collection check on a missing collection: %+v", r)
			}
		}
	}
	want := "vector.qdrant.reachable vector.qdrant.collection vector.dimension vector.metric"
	if strings.Join(ids, " ") != want {
		t.Fatalf("check IDs %v, want %s", ids, want)
	}
}

// BenchmarkHealthDeadline measures how long Health takes to give up on a server that accepts
// connections and never answers, against a 50 ms deadline (a figure, not an assertion).
func BenchmarkHealthDeadline(b *testing.B) {
	silent := qdranttest.StartSilent(b)
	s := open(b, qdrant.Options{URL: "grpc://" + silent.Addr, Dimension: 4})
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if _, err := s.Health(ctx); !errors.Is(err, context.DeadlineExceeded) {
			b.Fatal(err)
		}
		cancel()
	}
}

// BenchmarkHealthDown measures Health against a port nobody listens on.
func BenchmarkHealthDown(b *testing.B) {
	srv := qdranttest.Start(b)
	srv.Stop()
	s := open(b, qdrant.Options{URL: "grpc://" + srv.Addr, Dimension: 4})
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if _, err := s.Health(ctx); err == nil {
			b.Fatal("no error")
		}
		cancel()
	}
}
