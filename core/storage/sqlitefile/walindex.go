package sqlitefile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// WALIndex is what the wal-index header in a database's -shm file says about its WAL: how many
// frames it holds and how many of them a checkpoint has copied back into the database. SQLite
// writes the header in the machine's byte order, twice; a reader that finds the two copies
// different caught a writer in the middle of updating it.
type WALIndex struct {
	// PageSize is the database's page size; a WAL frame is PageSize+24 bytes.
	PageSize int64
	// Frames is the number of valid frames in the WAL (mxFrame); Backfilled of them are in the
	// database file already (nBackfill).
	Frames, Backfilled int64
}

// InUse is the part of the -wal file that holds frames: what a checkpoint has to copy, or has
// copied and not yet started over. The file itself may be larger (SQLite reuses it from the
// start and does not shrink it).
func (w WALIndex) InUse() int64 {
	if w.Frames == 0 {
		return 0
	}
	return 32 + w.Frames*(w.PageSize+24)
}

// errWALIndexBusy: the two copies of the header differ (a writer is updating it).
var errWALIndexBusy = errors.New("the wal-index header is being written")

// ReadWALIndex reads the wal-index header of the database at path from its -shm file, without
// taking a lock and without creating anything. It fails when there is no -shm, when the header
// is not initialised, or when a writer is updating it (twice in a row).
func ReadWALIndex(path string) (WALIndex, error) {
	f, err := os.Open(path + SHMSuffix)
	if err != nil {
		return WALIndex{}, err
	}
	defer f.Close()
	for range 2 {
		var w WALIndex
		if w, err = readWALIndex(f); !errors.Is(err, errWALIndexBusy) {
			return w, err
		}
	}
	return WALIndex{}, fmt.Errorf("read %s: %w", path+SHMSuffix, err)
}

func readWALIndex(f *os.File) (WALIndex, error) {
	buf := make([]byte, 104)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, int64(len(buf))), buf); err != nil {
		return WALIndex{}, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	// WalIndexHdr (48 bytes, twice): iVersion, unused, iChange, isInit, bigEndCksum, szPage,
	// mxFrame, nPage, ...; then WalCkptInfo: nBackfill, aReadMark[5], ...
	if string(buf[:48]) != string(buf[48:96]) {
		return WALIndex{}, errWALIndexBusy
	}
	ne := binary.NativeEndian
	if buf[12] == 0 || ne.Uint32(buf[0:4]) != 3007000 {
		return WALIndex{}, fmt.Errorf("read %s: the wal-index header is not initialised", f.Name())
	}
	w := WALIndex{PageSize: int64(ne.Uint16(buf[14:16])), Frames: int64(ne.Uint32(buf[16:20])), Backfilled: int64(ne.Uint32(buf[96:100]))}
	if w.PageSize == 1 {
		w.PageSize = 65536
	}
	return w, nil
}
