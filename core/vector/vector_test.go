package vector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"compozy.dev/setup/core/vector"
)

func TestParseMetric(t *testing.T) {
	for in, want := range map[string]vector.Metric{"": vector.Cosine, "COSINE": vector.Cosine, "dot": vector.Dot, "ip": vector.Dot, "l2": vector.Euclid, "euclid": vector.Euclid} {
		if got, err := vector.ParseMetric(in); err != nil || got != want {
			t.Errorf("ParseMetric(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := vector.ParseMetric("manhattan"); !errors.Is(err, vector.ErrInvalid) {
		t.Errorf("manhattan: %v", err)
	}
}

func TestErrorChainAndText(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cause := errors.New("rpc error: code = Unavailable")
	e := vector.NewError(ctx, "qdrant", "health check", "127.0.0.1:6334", vector.ErrUnreachable, cause)
	e.Msg = "no Qdrant gRPC server answers"
	e.Fix = vector.Fix{Text: "start it", Commands: []string{"docker run qdrant/qdrant"}}
	var err error = fmt.Errorf("doctor: %w", e)
	for _, target := range []error{vector.ErrUnreachable, cause, context.DeadlineExceeded} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v) = false", target)
		}
	}
	want := "qdrant: health check at 127.0.0.1:6334: no Qdrant gRPC server answers: rpc error: code = Unavailable (context deadline exceeded)"
	if e.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", e.Error(), want)
	}
	r := vector.FailResult(err)
	if r.Status != vector.StatusFail || r.Summary != "qdrant: health check at 127.0.0.1:6334: no Qdrant gRPC server answers (no answer before the deadline)" ||
		r.Fix.Commands[0] != "docker run qdrant/qdrant" || !strings.Contains(r.Detail, "Unavailable") {
		t.Errorf("FailResult = %+v", r)
	}
}

func TestRedact(t *testing.T) {
	base := errors.New("dial redis://:hunter2@host: refused")
	err := vector.Redact(fmt.Errorf("wrapped: %w", base), "hunter2", "")
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "[redacted]") || !errors.Is(err, base) {
		t.Errorf("Redact = %v", err)
	}
	if vector.Redact(base, "absent") != base || vector.Redact(nil, "x") != nil {
		t.Error("Redact changed an error without the secret, or a nil error")
	}
}

func TestValidatePoints(t *testing.T) {
	ok := []vector.Point{{ID: "a", Vector: []float32{1, 2}}}
	if err := vector.ValidatePoints("p", "t", 2, vector.Cosine, ok); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		pts  []vector.Point
		kind error
	}{
		"empty id":  {[]vector.Point{{Vector: []float32{1, 2}}}, vector.ErrInvalid},
		"duplicate": {[]vector.Point{ok[0], ok[0]}, vector.ErrInvalid},
		"length":    {[]vector.Point{{ID: "a", Vector: []float32{1}}}, vector.ErrDimension},
		"zero":      {[]vector.Point{{ID: "a", Vector: []float32{0, 0}}}, vector.ErrInvalid},
		"nan":       {[]vector.Point{{ID: "a", Vector: []float32{float32(nan()), 1}}}, vector.ErrInvalid},
	} {
		if err := vector.ValidatePoints("p", "t", 2, vector.Cosine, c.pts); !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	if err := vector.ValidatePoints("p", "t", 2, vector.Dot, []vector.Point{{ID: "z", Vector: []float32{0, 0}}}); err != nil {
		t.Errorf("zero vector under dot: %v", err)
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestInfoCountText(t *testing.T) {
	for _, tc := range []struct {
		info vector.Info
		want string
	}{
		{vector.Info{Count: 42}, "42"},
		{vector.Info{Count: 1200000, CountEstimated: true}, "about 1200000"},
		{vector.Info{Count: -1}, "an unknown number of"},
	} {
		if got := tc.info.CountText(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.info, got, tc.want)
		}
	}
}
