package sqlitefile

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shmHeader is the first 136 bytes of a -shm file: the wal-index header twice, then the
// checkpoint info, in this machine's byte order.
func shmHeader(pageSize uint16, frames, backfilled uint32) []byte {
	b := make([]byte, 136)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], 3007000)
	b[12] = 1
	ne.PutUint16(b[14:], pageSize)
	ne.PutUint32(b[16:], frames)
	copy(b[48:96], b[0:48])
	ne.PutUint32(b[96:], backfilled)
	return b
}

func TestReadWALIndex(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	write := func(b []byte) {
		t.Helper()
		if err := os.WriteFile(db+SHMSuffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ReadWALIndex(db); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no -shm: %v", err)
	}
	write(shmHeader(4096, 1000, 400))
	w, err := ReadWALIndex(db)
	if err != nil || w != (WALIndex{PageSize: 4096, Frames: 1000, Backfilled: 400}) {
		t.Fatalf("%+v %v", w, err)
	}
	if got := w.InUse(); got != 32+1000*(4096+24) {
		t.Errorf("InUse %d", got)
	}
	write(shmHeader(1, 2, 0)) // 64 KB pages are written as 1
	if w, _ := ReadWALIndex(db); w.PageSize != 65536 {
		t.Errorf("page size %d", w.PageSize)
	}
	if (WALIndex{PageSize: 4096}).InUse() != 0 {
		t.Error("an empty WAL is in use")
	}
	torn := shmHeader(4096, 1000, 400)
	torn[16]++ // the first copy changed, the second not yet
	write(torn)
	if _, err := ReadWALIndex(db); err == nil || !strings.Contains(err.Error(), "being written") {
		t.Errorf("torn header: %v", err)
	}
	write(make([]byte, 136))
	if _, err := ReadWALIndex(db); err == nil || !strings.Contains(err.Error(), "not initialised") {
		t.Errorf("zero header: %v", err)
	}
	write([]byte("short"))
	if _, err := ReadWALIndex(db); err == nil {
		t.Error("a short -shm read")
	}
}
