package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// scalarKind is what YAML made of a value. Values from the environment and flags are strings.
type scalarKind int

const (
	kindString scalarKind = iota
	kindInt
	kindFloat
	kindBool
	kindNull
	kindMapping
	kindList
)

// scalar is one raw value before it is converted to a field's type.
type scalar struct {
	kind scalarKind
	// text is the value as written (after ${VAR} expansion for strings).
	text string
	// num is a YAML integer's value (int64 or uint64), for forms like 0x1F.
	num any
	// b is a YAML boolean's value.
	b bool
}

// stringScalar is a value from the environment or a flag.
func stringScalar(s string) scalar { return scalar{kind: kindString, text: s} }

// describe names the value for a message, never showing a secret.
func (s scalar) describe(secret bool) string {
	switch s.kind {
	case kindMapping:
		return "a mapping"
	case kindList:
		return "a list"
	case kindNull:
		return "nothing"
	}
	if secret {
		return "a value of another type"
	}
	text := s.text
	if len(text) > 60 {
		text = text[:57] + "..."
	}
	if s.kind == kindString {
		return strconv.Quote(text)
	}
	return text
}

// conversionError says why a value does not fit a field, and what kind of problem that is
// (CodeValueType, CodeValueEnum or CodeValueRange).
type conversionError struct {
	code     Code
	msg, fix string
}

// convert turns s into the Go value of f: string, int, bool or time.Duration. Enum values are
// lowered; integers are checked against Min and Max; durations must not be negative.
func convert(f Field, s scalar) (any, *conversionError) {
	secret := f.Secret != NotSecret
	switch f.Type {
	case TypeString, TypePath:
		if s.kind == kindMapping || s.kind == kindList {
			return nil, &conversionError{code: CodeValueType, msg: "expected a string, got " + s.describe(secret), fix: "write a single value on the same line as " + f.Name + ":"}
		}
		if f.Enum == nil {
			return s.text, nil
		}
		v := strings.ToLower(strings.TrimSpace(s.text))
		for _, e := range f.Enum {
			if v == e {
				return v, nil
			}
		}
		return nil, enumError(f, s)
	case TypeInteger:
		n, ok := s.integer()
		if !ok {
			return nil, &conversionError{code: CodeValueType, msg: "expected an integer, got " + s.describe(secret), fix: "write a whole number" + exampleOf(f)}
		}
		if (f.Min != nil && n < int64(*f.Min)) || (f.Max != nil && n > int64(*f.Max)) || n > math.MaxInt32 || n < math.MinInt32 {
			return nil, rangeError(f, n)
		}
		return int(n), nil
	case TypeBoolean:
		switch s.kind {
		case kindBool:
			return s.b, nil
		case kindString:
			if b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(s.text))); err == nil {
				return b, nil
			}
		}
		return nil, &conversionError{code: CodeValueType, msg: "expected true or false, got " + s.describe(secret), fix: "write " + f.Name + ": true or " + f.Name + ": false"}
	case TypeDuration, TypeMilliseconds:
		return s.duration(f.Type == TypeMilliseconds)
	}
	return nil, &conversionError{code: CodeValueType, msg: "unsupported type " + string(f.Type)}
}

// integer reads s as a whole number.
func (s scalar) integer() (int64, bool) {
	switch s.kind {
	case kindInt:
		if n, err := strconv.ParseInt(s.text, 10, 64); err == nil {
			return n, true
		}
		switch v := s.num.(type) {
		case int64:
			return v, true
		case uint64:
			if v <= math.MaxInt64 {
				return int64(v), true
			}
		}
	case kindString:
		if n, err := strconv.ParseInt(strings.TrimSpace(s.text), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// duration reads s as a duration; with millis, a bare number is milliseconds.
func (s scalar) duration(millis bool) (any, *conversionError) {
	expected := "expected a duration such as 30s, 5m or 1h, got "
	fix := "units: ms, s, m, h (for example 1m30s)"
	if millis {
		expected = "expected milliseconds (5000) or a duration (5s), got "
	}
	var d time.Duration
	switch s.kind {
	case kindInt, kindString:
		if n, ok := s.integer(); ok {
			switch {
			case millis && n > math.MaxInt64/int64(time.Millisecond):
				return nil, &conversionError{code: CodeValueRange, msg: fmt.Sprintf("%d is out of range", n), fix: "use a duration such as 5s"}
			case millis:
				d = time.Duration(n) * time.Millisecond
			case n != 0:
				return nil, &conversionError{code: CodeValueType,
					msg: fmt.Sprintf("expected a duration with a unit, got %d (a bare number has no unit)", n),
					fix: fmt.Sprintf("write %ds for seconds or %dms for milliseconds", n, n),
				}
			}
			break
		}
		if s.kind == kindInt {
			return nil, &conversionError{code: CodeValueType, msg: expected + s.describe(false), fix: fix}
		}
		parsed, err := time.ParseDuration(strings.TrimSpace(s.text))
		if err != nil {
			return nil, &conversionError{code: CodeValueType, msg: expected + s.describe(false), fix: fix}
		}
		d = parsed
	default:
		return nil, &conversionError{code: CodeValueType, msg: expected + s.describe(false), fix: fix}
	}
	if d < 0 {
		fix := "use 0 for no limit, or a positive duration"
		if millis {
			fix = "use a positive duration such as 5s"
		}
		return nil, &conversionError{code: CodeValueRange, msg: "must not be negative, got " + s.describe(false), fix: fix}
	}
	if millis && d > MaxBusyTimeout {
		return nil, &conversionError{code: CodeValueRange,
			msg: fmt.Sprintf("%s is more than SQLite can wait (%s, 2^31-1 ms)", d, MaxBusyTimeout),
			fix: "use a duration such as 5s or 30s",
		}
	}
	return d, nil
}

// rangeError says that n is outside f's bounds.
func rangeError(f Field, n int64) *conversionError {
	switch {
	case f.Min != nil && n < int64(*f.Min) && f.Max != nil:
		return &conversionError{code: CodeValueRange, msg: fmt.Sprintf("must be at least %d, got %d", *f.Min, n), fix: fmt.Sprintf("use a value from %d to %d", *f.Min, *f.Max)}
	case f.Min != nil && n < int64(*f.Min):
		return &conversionError{code: CodeValueRange, msg: fmt.Sprintf("must be at least %d, got %d", *f.Min, n), fix: fmt.Sprintf("use %d or more", *f.Min) + exampleOf(f)}
	case f.Max != nil && n > int64(*f.Max):
		msg := fmt.Sprintf("must be at most %d, got %d", *f.Max, n)
		if f.Min != nil {
			return &conversionError{code: CodeValueRange, msg: msg, fix: fmt.Sprintf("use a value from %d to %d", *f.Min, *f.Max)}
		}
		return &conversionError{code: CodeValueRange, msg: msg, fix: fmt.Sprintf("use %d or less", *f.Max)}
	}
	return &conversionError{code: CodeValueRange, msg: fmt.Sprintf("%d is out of range", n), fix: "use a smaller number" + exampleOf(f)}
}

// exampleOf is ", such as DEFAULT" for a field with a default, or "".
func exampleOf(f Field) string {
	switch {
	case f.Default != "":
		return ", such as " + f.Default
	case f.Name == "dimension":
		return ", such as 1536"
	}
	return ""
}

// enumError says that s is not one of f's values, with a suggestion when one is close.
func enumError(f Field, s scalar) *conversionError {
	noun := "value"
	switch f.Name {
	case "driver":
		noun = "driver"
	case "provider":
		noun = "provider"
	}
	e := &conversionError{code: CodeValueEnum,
		msg: fmt.Sprintf("%s is not a valid %s; valid %ss: %s", s.describe(false), noun, noun, strings.Join(f.Enum, ", ")),
		fix: fmt.Sprintf("set %s to one of: %s", f.Name, strings.Join(f.Enum, ", ")),
	}
	if best := suggest(strings.ToLower(s.text), f.Enum); best != "" {
		e.msg += fmt.Sprintf("; did you mean %q?", best)
		e.fix = fmt.Sprintf("%s: %s", f.Name, best)
	}
	return e
}

// formatValue renders a field value for people: durations short ("5m", not "5m0s").
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Duration:
		return formatDuration(x)
	}
	return fmt.Sprint(v)
}

// formatDuration drops the zero units time.Duration.String adds: 5m0s -> 5m, 1h0m0s -> 1h.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
