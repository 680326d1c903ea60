package redis

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"compozy.dev/setup/core/vector"
)

// infoField reads "key:value" from an INFO reply.
func infoField(info, key string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return v
		}
	}
	return ""
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	case float64:
		return int64(x)
	}
	return 0
}

func metricOf(s string) vector.Metric {
	switch strings.ToUpper(s) {
	case "COSINE":
		return vector.Cosine
	case "IP":
		return vector.Dot
	case "L2":
		return vector.Euclid
	case "":
		return ""
	}
	return vector.Metric(strings.ToLower(s))
}

// ParseFTInfo reads the count and the first vector field of an FT.INFO reply (RESP2 flat
// array, or a RESP3 map).
func ParseFTInfo(v any) vector.Info {
	info := vector.Info{Count: -1}
	top := pairs(v)
	if n, ok := top["num_docs"]; ok {
		info.Count = toInt(n)
		if f, ok := n.(float64); ok {
			info.Count = int64(f)
		}
	}
	attrs, _ := top["attributes"].([]any)
	for _, a := range attrs {
		f := pairs(a)
		if !strings.EqualFold(fmt.Sprint(f["type"]), "VECTOR") {
			continue
		}
		info.Dimension = int(toInt(f["dim"]))
		if d, ok := f["distance_metric"]; ok {
			info.Metric = metricOf(fmt.Sprint(d))
		}
		info.Index = strings.ToLower(fmt.Sprint(f["algorithm"]))
		if _, ok := f["algorithm"]; !ok {
			info.Index = "vector"
		}
		break
	}
	return info
}

// pairs turns a flat [k1, v1, k2, v2, ...] array or a map into a map with lower-case keys.
func pairs(v any) map[string]any {
	out := map[string]any{}
	switch x := v.(type) {
	case []any:
		for i := 0; i+1 < len(x); i += 2 {
			out[strings.ToLower(fmt.Sprint(x[i]))] = x[i+1]
		}
	case map[any]any:
		for k, val := range x {
			out[strings.ToLower(fmt.Sprint(k))] = val
		}
	case map[string]any:
		for k, val := range x {
			out[strings.ToLower(k)] = val
		}
	}
	return out
}

// ParseSearch reads an FT.SEARCH reply (RESP2: total, then key and field list per document)
// whose documents carry id, payload and __dist.
func ParseSearch(res any, m vector.Metric) ([]vector.Match, error) {
	arr, ok := res.([]any)
	if !ok || len(arr) == 0 {
		return nil, fmt.Errorf("reply is %T, want an array", res)
	}
	out := make([]vector.Match, 0, (len(arr)-1)/2)
	for i := 1; i+1 < len(arr); i += 2 {
		f := pairs(arr[i+1])
		match := vector.Match{ID: fmt.Sprint(f["id"])}
		if f["id"] == nil {
			match.ID = fmt.Sprint(arr[i])
		}
		d, err := strconv.ParseFloat(fmt.Sprint(f["__dist"]), 64)
		if err != nil {
			return nil, fmt.Errorf("document %v: distance %v: %w", arr[i], f["__dist"], err)
		}
		switch m {
		case vector.Euclid:
			match.Score = float32(math.Sqrt(math.Max(d, 0)))
		default: // COSINE and IP distances are 1 - similarity
			match.Score = float32(1 - d)
		}
		if p, ok := f["payload"]; ok {
			var payload map[string]string
			if err := json.Unmarshal([]byte(fmt.Sprint(p)), &payload); err != nil {
				return nil, fmt.Errorf("document %v: payload: %w", arr[i], err)
			}
			if len(payload) > 0 {
				match.Payload = payload
			}
		}
		out = append(out, match)
	}
	return out, nil
}
