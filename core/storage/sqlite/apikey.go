package sqlite

import (
	"context"
	"fmt"
	"time"

	"compozy.dev/setup/core/storage"
)

const (
	qAPIKeyInsert = `INSERT INTO api_keys (id, user_id, hash, fingerprint, prefix, created_at, last_used)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	qAPIKeyByPrefix = `SELECT id, user_id, hash, fingerprint, prefix, created_at, last_used
		FROM api_keys WHERE prefix = ?`
	qAPIKeyLastUsed    = `SELECT last_used FROM api_keys WHERE id = ?`
	qAPIKeySetLastUsed = `UPDATE api_keys SET last_used = ? WHERE id = ?`
)

type apiKeyRepo struct{ r runner }

var _ storage.APIKeyRepo = apiKeyRepo{}

func (x apiKeyRepo) Create(ctx context.Context, k *storage.APIKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("create api key %s: %w", k.ID, err)
	}
	k.CreatedAt = orNow(k.CreatedAt, x.r.now())
	var lastUsed any
	if k.LastUsed != nil {
		lastUsed = formatTime(*k.LastUsed)
	}
	if _, err := x.r.exec(ctx, qAPIKeyInsert, k.ID, k.UserID, k.Hash, k.Fingerprint, k.Prefix,
		formatTime(k.CreatedAt), lastUsed); err != nil {
		return fmt.Errorf("create api key %s: %w", k.ID, mapErr(err))
	}
	return nil
}

func (x apiKeyRepo) FindByPrefix(ctx context.Context, prefix string) (*storage.APIKey, error) {
	rows, err := x.r.query(ctx, qAPIKeyByPrefix, prefix)
	if err != nil {
		return nil, fmt.Errorf("find api key by prefix: %w", mapErr(err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find api key by prefix: %w", mapErr(err))
		}
		return nil, fmt.Errorf("find api key by prefix: %w", storage.ErrNotFound)
	}
	var k storage.APIKey
	if err := rows.Scan(&k.ID, &k.UserID, &k.Hash, &k.Fingerprint, &k.Prefix,
		timeCol{v: &k.CreatedAt}, timeCol{ptr: &k.LastUsed}); err != nil {
		return nil, fmt.Errorf("find api key by prefix: %w", err)
	}
	return &k, rows.Close()
}

// TouchLastUsed compares in Go rather than in SQL because last_used may hold any of the
// timestamp forms parseTime accepts, whose text order is not time order. The read and the write
// are one transaction on the writer, so two touches cannot interleave.
func (x apiKeyRepo) TouchLastUsed(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = x.r.now()
	}
	err := x.r.atomic(ctx, func(r runner) error {
		rows, err := r.query(ctx, qAPIKeyLastUsed, id)
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return mapErr(err)
			}
			return storage.ErrNotFound
		}
		var last *time.Time
		if err := rows.Scan(timeCol{ptr: &last}); err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if last != nil && !at.After(*last) {
			return nil
		}
		_, err = r.exec(ctx, qAPIKeySetLastUsed, formatTime(at), id)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("touch api key %s: %w", id, err)
	}
	return nil
}
