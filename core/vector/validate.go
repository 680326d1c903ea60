package vector

import "fmt"

// ValidatePoints checks points before a provider writes them: a non-empty ID, no ID twice,
// exactly dim finite values, and (for Cosine) not the zero vector. The error names the first
// bad point and wraps ErrDimension or ErrInvalid.
func ValidatePoints(provider, target string, dim int, metric Metric, points []Point) error {
	seen := make(map[string]struct{}, len(points))
	for i, p := range points {
		if p.ID == "" {
			return invalid(provider, target, ErrInvalid, fmt.Sprintf("point %d has an empty ID", i))
		}
		if _, dup := seen[p.ID]; dup {
			return invalid(provider, target, ErrInvalid, fmt.Sprintf("point ID %q appears twice in one upsert", p.ID))
		}
		seen[p.ID] = struct{}{}
		if err := validateVector(provider, target, dim, metric, p.Vector, fmt.Sprintf("vector of point %q", p.ID)); err != nil {
			return err
		}
	}
	return nil
}

// ValidateQuery checks a query vector and k the same way.
func ValidateQuery(provider, target string, dim int, metric Metric, v []float32, k int) error {
	if k <= 0 {
		return invalid(provider, target, ErrInvalid, fmt.Sprintf("k must be at least 1, got %d", k))
	}
	return validateVector(provider, target, dim, metric, v, "query vector")
}

func validateVector(provider, target string, dim int, metric Metric, v []float32, what string) error {
	if len(v) != dim {
		return invalid(provider, target, ErrDimension, fmt.Sprintf("%s has %d values; this store holds %d-dimension vectors", what, len(v), dim))
	}
	zero := true
	for j, x := range v {
		if x-x != 0 { // NaN or an infinity

			return invalid(provider, target, ErrInvalid, fmt.Sprintf("%s has a non-finite value at index %d", what, j))
		}
		if x != 0 {
			zero = false
		}
	}
	if zero && metric == Cosine {
		return invalid(provider, target, ErrInvalid, what+" is all zeros, which has no direction for the cosine metric")
	}
	return nil
}

func invalid(provider, target string, kind error, msg string) error {
	e := NewError(nil, provider, "check input", target, kind, nil)
	e.Msg = msg
	return e
}
