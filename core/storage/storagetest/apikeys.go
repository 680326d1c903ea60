package storagetest

import (
	"bytes"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
)

// allBytes is every byte value, NUL first: a binary column must keep them all.
func allBytes(salt byte) []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i) ^ salt
	}
	return b
}

func (c *suite) newKey(t *testing.T, u *storage.User) *storage.APIKey {
	t.Helper()
	k := &storage.APIKey{ID: id("key"), UserID: u.ID, Hash: []byte(randomHex(16)), Fingerprint: []byte(randomHex(16)), Prefix: id("cpzy")}
	noErr(t, "create api key", c.s.APIKeys().Create(ctxOf(t), k))
	return k
}

func (c *suite) apiKeyCreateFind(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	salt := []byte(randomHex(1))[0]
	k := &storage.APIKey{ID: id("key"), UserID: u.ID, Hash: allBytes(salt), Fingerprint: append([]byte{0, 0xff, 0}, []byte(randomHex(8))...), Prefix: id("cpzy")}
	noErr(t, "create", c.s.APIKeys().Create(ctx, k))
	got, err := c.s.APIKeys().FindByPrefix(ctx, k.Prefix)
	noErr(t, "find", err)
	if got.ID != k.ID || got.UserID != k.UserID || got.Prefix != k.Prefix {
		t.Errorf("key = %s %s %s, want %s %s %s", got.ID, got.UserID, got.Prefix, k.ID, k.UserID, k.Prefix)
	}
	if !bytes.Equal(got.Hash, k.Hash) {
		t.Errorf("hash = %x, want %x", got.Hash, k.Hash)
	}
	if !bytes.Equal(got.Fingerprint, k.Fingerprint) {
		t.Errorf("fingerprint = %x, want %x", got.Fingerprint, k.Fingerprint)
	}
	sameTime(t, "created_at", got.CreatedAt, k.CreatedAt)
	if got.LastUsed != nil {
		t.Errorf("last_used = %s, want nil for a new key", got.LastUsed)
	}
}

func (c *suite) apiKeyConflict(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	k := c.newKey(t, u)
	for name, dup := range map[string]storage.APIKey{
		"same id":          {ID: k.ID, UserID: u.ID, Hash: []byte("h"), Fingerprint: []byte(randomHex(8)), Prefix: id("cpzy")},
		"same prefix":      {ID: id("key"), UserID: u.ID, Hash: []byte("h"), Fingerprint: []byte(randomHex(8)), Prefix: k.Prefix},
		"same fingerprint": {ID: id("key"), UserID: u.ID, Hash: []byte("h"), Fingerprint: k.Fingerprint, Prefix: id("cpzy")},
	} {
		wantErr(t, name, c.s.APIKeys().Create(ctx, &dup), storage.ErrConflict)
	}
}

func (c *suite) apiKeyInvalid(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	for name, k := range map[string]storage.APIKey{
		"unknown user":   {ID: id("key"), UserID: id("missing"), Hash: []byte("h"), Fingerprint: []byte(randomHex(8)), Prefix: id("cpzy")},
		"no hash":        {ID: id("key"), UserID: u.ID, Fingerprint: []byte(randomHex(8)), Prefix: id("cpzy")},
		"no fingerprint": {ID: id("key"), UserID: u.ID, Hash: []byte("h"), Prefix: id("cpzy")},
	} {
		wantErr(t, name, c.s.APIKeys().Create(ctx, &k), storage.ErrInvalid)
	}
}

func (c *suite) apiKeyNotFound(t *testing.T) {
	ctx := ctxOf(t)
	_, err := c.s.APIKeys().FindByPrefix(ctx, id("missing"))
	wantErr(t, "find", err, storage.ErrNotFound)
	wantErr(t, "touch", c.s.APIKeys().TouchLastUsed(ctx, id("missing"), time.Now()), storage.ErrNotFound)
}

func (c *suite) apiKeyTouch(t *testing.T) {
	ctx := ctxOf(t)
	k := c.newKey(t, c.newUser(t))
	lastUsed := func() *time.Time {
		t.Helper()
		got, err := c.s.APIKeys().FindByPrefix(ctx, k.Prefix)
		noErr(t, "find", err)
		return got.LastUsed
	}
	t1 := time.Date(2025, 7, 11, 16, 38, 58, 123456000, time.FixedZone("CEST", 2*3600))
	noErr(t, "touch t1", c.s.APIKeys().TouchLastUsed(ctx, k.ID, t1))
	if got := lastUsed(); got == nil || !got.Equal(t1) {
		t.Fatalf("after touch: last_used = %v, want %s", got, t1)
	}
	noErr(t, "touch earlier", c.s.APIKeys().TouchLastUsed(ctx, k.ID, t1.Add(-time.Hour)))
	if got := lastUsed(); got == nil || !got.Equal(t1) {
		t.Fatalf("an earlier touch moved last_used to %v; want it kept at %s", got, t1)
	}
	noErr(t, "touch same", c.s.APIKeys().TouchLastUsed(ctx, k.ID, t1))
	t2 := t1.Add(time.Microsecond)
	noErr(t, "touch later", c.s.APIKeys().TouchLastUsed(ctx, k.ID, t2))
	if got := lastUsed(); got == nil || !got.Equal(t2) {
		t.Fatalf("after a later touch: last_used = %v, want %s", got, t2)
	}
	before := time.Now().Add(-time.Second)
	noErr(t, "touch now", c.s.APIKeys().TouchLastUsed(ctx, k.ID, time.Time{}))
	if got := lastUsed(); got == nil || got.Before(before) {
		t.Fatalf("a touch at the zero time should use now; last_used = %v", got)
	}
}
