package storagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
)

// Run runs the conformance suite against the store open returns. open is called once; the
// subtests share the store and keep apart by using their own IDs and statuses, so the store
// only needs the migrated schema (and may hold other data). open should register the store's
// Close with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	c := &suite{s: s}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Ping", c.ping},
		{"Workflows/CreateGet", c.workflowCreateGet},
		{"Workflows/CreateConflict", c.workflowConflict},
		{"Workflows/CreateInvalid", c.workflowInvalid},
		{"Workflows/GetNotFound", c.workflowNotFound},
		{"Workflows/ListByStatus", c.workflowListByStatus},
		{"Workflows/UpdateStatus", c.workflowUpdateStatus},
		{"Workflows/DeleteCascades", c.workflowDeleteCascades},
		{"Workflows/JSONRoundTrip", c.workflowJSON},
		{"Workflows/TimeZones", c.workflowTimeZones},
		{"Tasks/CreateGet", c.taskCreateGet},
		{"Tasks/CreateConflict", c.taskConflict},
		{"Tasks/CreateInvalid", c.taskInvalid},
		{"Tasks/GetNotFound", c.taskNotFound},
		{"Tasks/ListByWorkflow", c.taskListByWorkflow},
		{"Tasks/ListByStatus", c.taskListByStatus},
		{"Tasks/UpdateStatus", c.taskUpdateStatus},
		{"Tasks/DeleteCascadesToChildren", c.taskDeleteCascades},
		{"Users/CreateGet", c.userCreateGet},
		{"Users/CreateConflict", c.userConflict},
		{"Users/EmailCaseInsensitive", c.userEmailCase},
		{"Users/CreateInvalid", c.userInvalid},
		{"Users/NotFound", c.userNotFound},
		{"Users/DeleteCascadesToAPIKeys", c.userDeleteCascades},
		{"APIKeys/CreateFind", c.apiKeyCreateFind},
		{"APIKeys/CreateConflict", c.apiKeyConflict},
		{"APIKeys/CreateInvalid", c.apiKeyInvalid},
		{"APIKeys/FindNotFound", c.apiKeyNotFound},
		{"APIKeys/TouchLastUsedMonotonic", c.apiKeyTouch},
		{"InTx/Commit", c.txCommit},
		{"InTx/Rollback", c.txRollback},
		{"InTx/Panic", c.txPanic},
		{"InTx/ReadModifyWrite", c.txReadModifyWrite},
		{"Concurrent", c.concurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	s storage.Store
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// id returns a fresh identifier.
func id(kind string) string { return kind + "-" + randomHex(6) }

// utcMicro is the current time at PostgreSQL's precision.
func utcMicro() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want one wrapping %v", what, err, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// canonicalJSON decodes and re-encodes raw, which sorts object keys and drops insignificant
// whitespace: PostgreSQL's jsonb does both. nil (SQL NULL) stays nil.
func canonicalJSON(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	if raw == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("stored JSON %q does not decode: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode JSON: %v", err)
	}
	return b
}

func sameJSON(t *testing.T, field string, got, want json.RawMessage) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Errorf("%s = %q, want %q (NULL must stay NULL, JSON must stay JSON)", field, got, want)
		return
	}
	if g, w := canonicalJSON(t, got), canonicalJSON(t, want); !bytes.Equal(g, w) {
		t.Errorf("%s = %s, want %s", field, g, w)
	}
}

func sameTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", field, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %s, want UTC", field, got.Location())
	}
}

func (c *suite) ping(t *testing.T) {
	noErr(t, "ping", c.s.Ping(ctxOf(t)))
}
