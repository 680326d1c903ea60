package postgres

import (
	"context"
	"fmt"

	"compozy.dev/setup/core/storage"
)

const (
	qUserInsert = `INSERT INTO users (id, email, role, created_at) VALUES ($1, $2, $3, $4)`
	qUserGet    = `SELECT id, email, role, created_at FROM users WHERE id = $1`
	// lower(email) is the expression of the unique index idx_users_email_ci, so this uses it.
	qUserByEmail = `SELECT id, email, role, created_at FROM users WHERE lower(email) = lower($1)`
	qUserDelete  = `DELETE FROM users WHERE id = $1`
)

type userRepo struct{ r runner }

var _ storage.UserRepo = userRepo{}

func (x userRepo) Create(ctx context.Context, u *storage.User) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	u.CreatedAt = orNow(u.CreatedAt, x.r.now())
	if _, err := x.r.q.Exec(ctx, qUserInsert, u.ID, u.Email, string(u.Role), u.CreatedAt); err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, mapErr(err))
	}
	return nil
}

func (x userRepo) Get(ctx context.Context, id string) (*storage.User, error) {
	u, err := x.one(ctx, qUserGet, id)
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

func (x userRepo) FindByEmail(ctx context.Context, email string) (*storage.User, error) {
	u, err := x.one(ctx, qUserByEmail, email)
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	return u, nil
}

func (x userRepo) one(ctx context.Context, q, arg string) (*storage.User, error) {
	var u storage.User
	if err := x.r.q.QueryRow(ctx, q, arg).Scan(&u.ID, &u.Email, &u.Role, &u.CreatedAt); err != nil {
		return nil, mapErr(err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

func (x userRepo) Delete(ctx context.Context, id string) error {
	tag, err := x.r.q.Exec(ctx, qUserDelete, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, mapErr(err))
	}
	return nil
}
