package sqlite

import (
	"context"
	"fmt"

	"compozy.dev/setup/core/storage"
)

const (
	qUserInsert = `INSERT INTO users (id, email, role, created_at) VALUES (?, ?, ?, ?)`
	qUserGet    = `SELECT id, email, role, created_at FROM users WHERE id = ?`
	// lower(email) is the expression of the unique index idx_users_email_ci, so this uses it.
	qUserByEmail = `SELECT id, email, role, created_at FROM users WHERE lower(email) = lower(?)`
	qUserDelete  = `DELETE FROM users WHERE id = ?`
)

type userRepo struct{ r runner }

var _ storage.UserRepo = userRepo{}

func (x userRepo) Create(ctx context.Context, u *storage.User) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	u.CreatedAt = orNow(u.CreatedAt, x.r.now())
	if _, err := x.r.exec(ctx, qUserInsert, u.ID, u.Email, string(u.Role), formatTime(u.CreatedAt)); err != nil {
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

func (x userRepo) one(ctx context.Context, q string, arg string) (*storage.User, error) {
	rows, err := x.r.query(ctx, q, arg)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, mapErr(err)
		}
		return nil, storage.ErrNotFound
	}
	var u storage.User
	if err := rows.Scan(&u.ID, &u.Email, &u.Role, timeCol{v: &u.CreatedAt}); err != nil {
		return nil, err
	}
	return &u, rows.Close()
}

func (x userRepo) Delete(ctx context.Context, id string) error {
	res, err := x.r.exec(ctx, qUserDelete, id)
	if err == nil {
		err = rowsAffected(res)
	}
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, mapErr(err))
	}
	return nil
}
