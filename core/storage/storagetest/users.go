package storagetest

import (
	"strings"
	"testing"

	"compozy.dev/setup/core/storage"
)

func (c *suite) newUser(t *testing.T) *storage.User {
	t.Helper()
	u := &storage.User{ID: id("user"), Email: id("Mixed.Case") + "@Example.COM", Role: storage.RoleUser}
	noErr(t, "create user", c.s.Users().Create(ctxOf(t), u))
	return u
}

func (c *suite) userCreateGet(t *testing.T) {
	ctx := ctxOf(t)
	u := &storage.User{ID: id("user"), Email: id("ada") + "@example.com", Role: storage.RoleAdmin}
	noErr(t, "create", c.s.Users().Create(ctx, u))
	got, err := c.s.Users().Get(ctx, u.ID)
	noErr(t, "get", err)
	if got.ID != u.ID || got.Email != u.Email || got.Role != u.Role {
		t.Errorf("user = %+v, want %+v", got, u)
	}
	sameTime(t, "created_at", got.CreatedAt, u.CreatedAt)
}

func (c *suite) userConflict(t *testing.T) {
	u := c.newUser(t)
	dup := &storage.User{ID: u.ID, Email: id("other") + "@example.com", Role: storage.RoleUser}
	wantErr(t, "same id", c.s.Users().Create(ctxOf(t), dup), storage.ErrConflict)
}

func (c *suite) userEmailCase(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	for _, email := range []string{u.Email, strings.ToLower(u.Email), strings.ToUpper(u.Email)} {
		got, err := c.s.Users().FindByEmail(ctx, email)
		noErr(t, "find "+email, err)
		if got.ID != u.ID || got.Email != u.Email {
			t.Errorf("FindByEmail(%s) = %s %s, want %s %s (stored case kept)", email, got.ID, got.Email, u.ID, u.Email)
		}
	}
	dup := &storage.User{ID: id("user"), Email: strings.ToLower(u.Email), Role: storage.RoleUser}
	wantErr(t, "same email in other case", c.s.Users().Create(ctx, dup), storage.ErrConflict)
}

func (c *suite) userInvalid(t *testing.T) {
	ctx := ctxOf(t)
	for name, u := range map[string]storage.User{
		"unknown role": {ID: id("user"), Email: id("x") + "@example.com", Role: "root"},
		"no email":     {ID: id("user"), Role: storage.RoleUser},
		"no id":        {Email: id("x") + "@example.com", Role: storage.RoleUser},
	} {
		wantErr(t, name, c.s.Users().Create(ctx, &u), storage.ErrInvalid)
	}
}

func (c *suite) userNotFound(t *testing.T) {
	ctx := ctxOf(t)
	_, err := c.s.Users().Get(ctx, id("missing"))
	wantErr(t, "get", err, storage.ErrNotFound)
	_, err = c.s.Users().FindByEmail(ctx, id("missing")+"@example.com")
	wantErr(t, "find by email", err, storage.ErrNotFound)
	wantErr(t, "delete", c.s.Users().Delete(ctx, id("missing")), storage.ErrNotFound)
}

func (c *suite) userDeleteCascades(t *testing.T) {
	ctx := ctxOf(t)
	u := c.newUser(t)
	k := c.newKey(t, u)
	noErr(t, "delete user", c.s.Users().Delete(ctx, u.ID))
	_, err := c.s.Users().Get(ctx, u.ID)
	wantErr(t, "get deleted user", err, storage.ErrNotFound)
	_, err = c.s.APIKeys().FindByPrefix(ctx, k.Prefix)
	wantErr(t, "find key of deleted user", err, storage.ErrNotFound)
}
