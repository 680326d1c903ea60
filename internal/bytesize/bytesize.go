// Package bytesize writes a byte count for people, in the one unit system compozy shows sizes
// in: powers of 1024 labelled KB, MB, GB and TB, as df -h and ls -h count and as the
// configuration's size limits are stated ("compozy reads config files up to 1 MB").
package bytesize

import "fmt"

const (
	kb = 1 << 10
	mb = 1 << 20
	gb = 1 << 30
	tb = 1 << 40
)

// Format renders n: "512 bytes", "120 KB", "2.0 MB", "70.3 GB", "1.8 TB".
func Format(n int64) string {
	switch {
	case n >= tb:
		return fmt.Sprintf("%.1f TB", float64(n)/tb)
	case n >= gb:
		return fmt.Sprintf("%.1f GB", float64(n)/gb)
	case n >= mb:
		return fmt.Sprintf("%.1f MB", float64(n)/mb)
	case n >= kb:
		return fmt.Sprintf("%.0f KB", float64(n)/kb)
	}
	return fmt.Sprintf("%d bytes", n)
}
