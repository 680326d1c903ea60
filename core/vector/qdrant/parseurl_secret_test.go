package qdrant

import (
	"strings"
	"testing"
)

// TestParseURLNeverQuotesTheURL: url.Parse's error quotes the URL and the part it choked on,
// often a piece of the password or api_key.
func TestParseURLNeverQuotesTheURL(t *testing.T) {
	for _, raw := range []string{
		"http://u:Xq7Zw/Pv3Lk@q:6333", "http://u:Xq7Zw Pv3Lk@q:6333", "http://q:6333?api_key=Xq7Zw%zzPv3Lk", "http://u:Xq7Zw#Pv3Lk@q:6333",
	} {
		_, err := ParseURL(raw)
		if err == nil {
			continue
		}
		if strings.Contains(err.Error(), "Xq7Zw") || strings.Contains(err.Error(), "Pv3Lk") {
			t.Errorf("ParseURL(%q): %v", raw, err)
		}
	}
}
