package bytesize

import "testing"

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{
		0:                "0 bytes",
		1023:             "1023 bytes",
		1024:             "1 KB",
		120 << 10:        "120 KB",
		2 << 20:          "2.0 MB",
		12<<20 + 700<<10: "12.7 MB",
		70<<30 + 300<<20: "70.3 GB",
		1<<40 + 800<<30:  "1.8 TB",
		-5:               "-5 bytes",
	} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}
