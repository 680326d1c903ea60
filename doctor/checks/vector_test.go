package checks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"compozy.dev/setup/core/config"
	"compozy.dev/setup/core/vector"
	"compozy.dev/setup/doctor"
)

// fakeVectors is a VectorSource whose entries have the checks of checks; Open returns store.
type fakeVectors struct {
	checks  map[string][]vector.Check
	store   *fakeStore
	openErr error
	closed  []string
}

func (f *fakeVectors) Checks(_ context.Context, e config.VectorDB) ([]vector.Check, func() error) {
	return f.checks[e.ID], func() error { f.closed = append(f.closed, e.ID); return nil }
}

func (f *fakeVectors) Open(context.Context, config.VectorDB) (vector.Store, error) {
	if f.openErr != nil {
		return nil, f.openErr
	}
	return f.store, nil
}

// fakeStore is a vector.Store whose Ensure fails with ensureErr.
type fakeStore struct {
	vector.Store
	ensureErr error
	ensured   bool
	closed    bool
}

func (s *fakeStore) Ensure(context.Context) error { s.ensured = true; return s.ensureErr }
func (s *fakeStore) Close() error                 { s.closed = true; return nil }

func result(r vector.Result) func(context.Context) vector.Result {
	return func(context.Context) vector.Result { return r }
}

var qdrantEntry = config.VectorDB{ID: "kb", Provider: "qdrant", URL: "http://127.0.0.1:6333", Dimension: 8}

func TestVectorResults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		check   vector.Check
		want    want
		fixable bool
	}{
		{"provider invalid", vector.Check{ID: doctor.IDVectorProvider, Run: result(vector.Result{Status: vector.StatusFail,
			Summary: "pgvector provider is incompatible with SQLite driver", Fix: vector.Fix{Text: "use qdrant"}})},
			want{doctor.StatusFail, `pgvector provider is incompatible with SQLite driver`}, false},
		{"unreachable, secret in the URL", vector.Check{ID: doctor.IDVectorRedisReachable, Run: result(vector.Result{Status: vector.StatusFail,
			Summary: "redis: ping at redis://:hunter2@127.0.0.1:1", Detail: "redis: ping at redis://:hunter2@127.0.0.1:1: connection refused",
			Fix: vector.Fix{Commands: []string{"redis-cli -u redis://:hunter2@127.0.0.1:1 ping"}}})},
			want{doctor.StatusFail, `^redis: ping at redis://:\[redacted\]@127.0.0.1:1\nconnection refused$`}, false},
		{"collection missing: Ensure creates it", vector.Check{ID: doctor.IDVectorQdrantCollection, Run: result(vector.Result{Status: vector.StatusFail,
			Summary: `qdrant: collection "kb" does not exist`})},
			want{doctor.StatusFail, `does not exist`}, true},
		{"collection of another dimension: Ensure cannot fix it", vector.Check{ID: doctor.IDVectorQdrantCollection, Run: result(vector.FailResult(
			vector.NewError(nil, "qdrant", "ensure collection", "127.0.0.1:6334", vector.ErrDimension, nil)))},
			want{doctor.StatusFail, `dimension mismatch`}, false},
		// Routed by the error's kind, not its words: a reworded message routes the same.
		{"vectors of another length, in other words", vector.Check{ID: doctor.IDVectorQdrantCollection, Run: result(vector.FailResult(
			&vector.Error{Provider: "qdrant", Op: "ensure collection", Kind: vector.ErrDimension, Msg: "stored vectors have 4 values, the config 8"}))},
			want{doctor.StatusFail, `stored vectors have 4 values`}, false},
		{"a missing collection named for its dimension is still created", vector.Check{ID: doctor.IDVectorQdrantCollection, Run: result(vector.FailResult(
			&vector.Error{Provider: "qdrant", Op: "describe", Kind: vector.ErrNotFound, Msg: `collection "dimension_768" does not exist`}))},
			want{doctor.StatusFail, `dimension_768`}, true},
		{"metric differs", vector.Check{ID: doctor.IDVectorMetric, Run: result(vector.Result{Status: vector.StatusWarn,
			Summary: `qdrant "kb" uses metric dot but the config says cosine`, Detail: "scores differ"})},
			want{doctor.StatusWarn, `uses metric dot but the config says cosine\nscores differ`}, false},
		{"provider repair", vector.Check{ID: doctor.IDVectorFilesystemData, Run: result(vector.Result{Status: vector.StatusFail,
			Summary: "damaged in the middle", Fixable: true}), Repair: &vector.Repair{
			Plan:  func(context.Context) string { return "rewrite the log" },
			Apply: func(context.Context) error { return errors.New("disk full") }}},
			want{doctor.StatusFail, `damaged in the middle`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := &fakeVectors{store: &fakeStore{}}
			c := wrapVector(tc.check, qdrantEntry, vs)
			r := runCheck(t, []doctor.Check{c}, tc.check.ID, tc.want)
			if r.Fixable != tc.fixable || (c.Repair != nil) != (tc.fixable || tc.check.ID == doctor.IDVectorQdrantCollection) {
				t.Errorf("fixable %v (repair %v), want %v", r.Fixable, c.Repair != nil, tc.fixable)
			}
			if strings.Contains(r.Summary+r.Detail+commands(r), "hunter2") {
				t.Errorf("a secret leaked: %q %q %q", r.Summary, r.Detail, commands(r))
			}
		})
	}
}

func TestVectorRepairs(t *testing.T) {
	ctx := t.Context()
	missing := vector.Check{ID: doctor.IDVectorQdrantCollection, Entry: "kb",
		Run: result(vector.Result{Status: vector.StatusFail, Summary: "missing"})}

	vs := &fakeVectors{store: &fakeStore{}}
	c := wrapVector(missing, qdrantEntry, vs)
	if got := c.Repair.Plan(doctor.Result{}); got != `create the qdrant collection of vector DB "kb" (dimension 8)` {
		t.Errorf("plan %q", got)
	}
	if err := c.Repair.Apply(ctx, doctor.Result{}); err != nil || !vs.store.ensured || !vs.store.closed {
		t.Errorf("apply: %v, ensured %v, closed %v", err, vs.store.ensured, vs.store.closed)
	}

	vs = &fakeVectors{openErr: errors.New("bad url")}
	if err := wrapVector(missing, qdrantEntry, vs).Repair.Apply(ctx, doctor.Result{}); err == nil || !strings.Contains(err.Error(), `open vector DB kb: bad url`) {
		t.Errorf("apply with a store that does not open: %v", err)
	}
	vs = &fakeVectors{store: &fakeStore{ensureErr: errors.New("forbidden")}}
	if err := wrapVector(missing, qdrantEntry, vs).Repair.Apply(ctx, doctor.Result{}); err == nil || !strings.Contains(err.Error(), `create in vector DB kb: forbidden`) {
		t.Errorf("apply with Ensure refused: %v", err)
	}

	own := vector.Check{ID: doctor.IDVectorFilesystemData, Run: result(vector.Result{Status: vector.StatusFail, Fixable: true}),
		Repair: &vector.Repair{Plan: func(context.Context) string { return "rewrite redis://:pw@x" },
			Apply: func(context.Context) error { return errors.New("disk full") }}}
	c = wrapVector(own, qdrantEntry, &fakeVectors{})
	if got := c.Repair.Plan(doctor.Result{}); got != "rewrite redis://:[redacted]@x" {
		t.Errorf("plan %q", got)
	}
	if err := c.Repair.Apply(ctx, doctor.Result{}); err == nil || !strings.Contains(err.Error(), "repair vector DB kb: disk full") {
		t.Errorf("apply: %v", err)
	}
}

// TestVectorChecksFromTheSource: every entry's checks come from the caller's VectorSource, in
// order, and Close releases each entry's; without a source no vector check is built.
func TestVectorChecksFromTheSource(t *testing.T) {
	pass := result(vector.Pass("ok"))
	vs := &fakeVectors{checks: map[string][]vector.Check{
		"a": {{ID: doctor.IDVectorProvider, Entry: "a", Run: pass}, {ID: doctor.IDVectorRedisReachable, Entry: "a", DependsOn: []string{doctor.IDVectorProvider}, Run: pass}},
		"b": {{ID: doctor.IDVectorProvider, Entry: "b", Run: pass}},
	}}
	s := testSet(t, sqliteDB(), Inputs{Vector: vs}, &fakeConn{}, nil)
	cs := s.vectorChecks([]config.VectorDB{{ID: "a"}, {ID: "b"}})
	var got []string
	for _, c := range cs {
		got = append(got, c.ID+"@"+c.Entry+" "+strings.Join(c.DependsOn, ","))
	}
	if want := "vector.provider@a ,vector.redis.reachable@a vector.provider,vector.provider@b "; strings.Join(got, ",") != want {
		t.Errorf("checks %q\nwant %q", strings.Join(got, ","), want)
	}
	s.Close()
	if strings.Join(vs.closed, ",") != "a,b" {
		t.Errorf("closed %v", vs.closed)
	}
	if cs := testSet(t, sqliteDB(), Inputs{}, &fakeConn{}, nil).vectorChecks([]config.VectorDB{{ID: "a"}}); len(cs) != 0 {
		t.Errorf("%d vector checks without a source", len(cs))
	}
}
