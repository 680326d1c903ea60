package postgres

import (
	"context"
	"fmt"
	"time"

	"compozy.dev/setup/core/storage"
)

const (
	qAPIKeyInsert = `INSERT INTO api_keys (id, user_id, hash, fingerprint, prefix, created_at, last_used)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qAPIKeyByPrefix = `SELECT id, user_id, hash, fingerprint, prefix, created_at, last_used
		FROM api_keys WHERE prefix = $1`
	// GREATEST ignores NULL, so the first touch sets last_used and later ones never move it back.
	qAPIKeyTouch = `UPDATE api_keys SET last_used = GREATEST(last_used, $2) WHERE id = $1`
)

type apiKeyRepo struct{ r runner }

var _ storage.APIKeyRepo = apiKeyRepo{}

func (x apiKeyRepo) Create(ctx context.Context, k *storage.APIKey) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("create api key %s: %w", k.ID, err)
	}
	k.CreatedAt = orNow(k.CreatedAt, x.r.now())
	if _, err := x.r.q.Exec(ctx, qAPIKeyInsert, k.ID, k.UserID, k.Hash, k.Fingerprint, k.Prefix,
		k.CreatedAt, k.LastUsed); err != nil {
		return fmt.Errorf("create api key %s: %w", k.ID, mapErr(err))
	}
	return nil
}

func (x apiKeyRepo) FindByPrefix(ctx context.Context, prefix string) (*storage.APIKey, error) {
	var k storage.APIKey
	if err := x.r.q.QueryRow(ctx, qAPIKeyByPrefix, prefix).Scan(&k.ID, &k.UserID, &k.Hash, &k.Fingerprint,
		&k.Prefix, &k.CreatedAt, &k.LastUsed); err != nil {
		return nil, fmt.Errorf("find api key by prefix: %w", mapErr(err))
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if k.LastUsed != nil {
		t := k.LastUsed.UTC()
		k.LastUsed = &t
	}
	return &k, nil
}

func (x apiKeyRepo) TouchLastUsed(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = x.r.now()
	}
	tag, err := x.r.q.Exec(ctx, qAPIKeyTouch, id, at)
	if err == nil && tag.RowsAffected() == 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("touch api key %s: %w", id, mapErr(err))
	}
	return nil
}
