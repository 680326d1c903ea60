package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"compozy.dev/setup/core/storage"
	"compozy.dev/setup/core/storage/storagetest"
)

// queueBatch holds the writer while the given writes queue, then lets them run as one group
// commit, and waits for all of them.
func queueBatch(t *testing.T, d *DB, writes ...func()) {
	t.Helper()
	d.token <- struct{}{}
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Add(1)
		go func() { defer wg.Done(); w() }()
		waitQueued(t, d, i+1) // queued in the order given
	}
	<-d.token
	wg.Wait()
}

func waitQueued(t *testing.T, d *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.queue.mu.Lock()
		got := len(d.queue.reqs)
		d.queue.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d writes queued", got, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestGroupCommitIsolation runs statements and transactions that succeed, conflict, fail and
// panic in ONE group commit: each caller gets its own outcome, and only the failed callers'
// writes are missing afterwards.
func TestGroupCommitIsolation(t *testing.T) {
	d := openInternal(t)
	storagetest.Migrate(t, "sqlite", d.Writer())
	ctx := context.Background()
	wf := func(id string) *storage.WorkflowState {
		return &storage.WorkflowState{WorkflowExecID: id, WorkflowID: "g", Status: storage.StatusRunning}
	}
	errMine := errors.New("mine")
	var (
		errA, errB, errC, errD, errE error
		panicF                       any
		seenE                        int
	)
	queueBatch(t, d,
		func() { errA = d.Workflows().Create(ctx, wf("w1")) },
		func() { errC = d.Workflows().Create(ctx, wf("w2")) },
		func() {
			errD = d.InTx(ctx, func(tx storage.Repos) error {
				if err := tx.Workflows().Create(ctx, wf("w3")); err != nil {
					return err
				}
				return errMine
			})
		},
		func() {
			defer func() { panicF = recover() }()
			_ = d.InTx(ctx, func(tx storage.Repos) error {
				if err := tx.Workflows().Create(ctx, wf("w4")); err != nil {
					return err
				}
				panic("boom")
			})
		},
	)
	// A second batch: a conflict with a committed row, and a transaction that reads its own
	// write and one of an earlier member of the batch.
	queueBatch(t, d,
		func() { errB = d.Workflows().Create(ctx, wf("w1")) },
		func() { errA = d.Workflows().Create(ctx, wf("w5")) },
		func() {
			errE = d.InTx(ctx, func(tx storage.Repos) error {
				if err := tx.Tasks().Create(ctx, &storage.TaskState{Component: storage.ComponentTask,
					Status: storage.StatusPending, TaskExecID: "t1", TaskID: "t", WorkflowExecID: "w1", WorkflowID: "g"}); err != nil {
					return err
				}
				ts, err := tx.Tasks().ListByWorkflow(ctx, "w1")
				seenE = len(ts)
				return err
			})
		},
	)
	if errA != nil || errC != nil || errE != nil {
		t.Fatalf("successful writes failed: %v, %v, %v", errA, errC, errE)
	}
	if !errors.Is(errB, storage.ErrConflict) {
		t.Errorf("duplicate create = %v, want ErrConflict", errB)
	}
	if errD != errMine {
		t.Errorf("failing InTx returned %v, want its own error unchanged", errD)
	}
	if panicF != "boom" {
		t.Errorf("panicking InTx: recovered %v, want boom", panicF)
	}
	if seenE != 1 {
		t.Errorf("InTx saw %d of its own tasks, want 1", seenE)
	}
	for id, want := range map[string]bool{"w1": true, "w2": true, "w3": false, "w4": false, "w5": true} {
		_, err := d.Workflows().Get(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("workflow %s exists = %v (%v), want %v", id, got, err, want)
		}
	}
}

// TestGroupCommitCancelledWhileQueued: a caller whose context ends while it waits leaves the
// queue with its context's error and writes nothing; the others are not affected.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	d := openInternal(t)
	storagetest.Migrate(t, "sqlite", d.Writer())
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	d.token <- struct{}{}
	errc := make(chan error, 1)
	go func() {
		errc <- d.Workflows().Create(cctx, &storage.WorkflowState{WorkflowExecID: "c", WorkflowID: "g", Status: storage.StatusRunning})
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		d.queue.mu.Lock()
		n := len(d.queue.reqs)
		d.queue.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the write was not queued within 30s (%d queued)", n)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-errc
	<-d.token
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write = %v, want context.Canceled", err)
	}
	if err := d.Workflows().Create(ctx, &storage.WorkflowState{WorkflowExecID: "ok", WorkflowID: "g", Status: storage.StatusRunning}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Workflows().Get(ctx, "c"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("cancelled write is in the database: %v", err)
	}
}

// TestGroupCommitLargeBatch: 300 writes queued at once (one group commit of up to maxBatch, then
// the rest) all land.
func TestGroupCommitLargeBatch(t *testing.T) {
	d := openInternal(t)
	storagetest.Migrate(t, "sqlite", d.Writer())
	ctx := context.Background()
	var writes []func()
	errs := make([]error, maxBatch+44)
	for i := range errs {
		writes = append(writes, func() {
			errs[i] = d.Workflows().Create(ctx, &storage.WorkflowState{WorkflowExecID: fmt.Sprint("s", i), WorkflowID: "g", Status: storage.StatusRunning})
		})
	}
	queueBatch(t, d, writes...)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ws, err := d.Workflows().ListByStatus(ctx, storage.StatusRunning, 0)
	if err != nil || len(ws) != len(errs) {
		t.Fatalf("%d workflows (%v), want %d", len(ws), err, len(errs))
	}
}

// TestGroupCommitOtherErrors: a statement failing with an error that is not a constraint (here:
// its table is gone) fails alone; the transaction survives (txAlive), so the InTx that ran
// before it in the batch commits too, as does every other member.
func TestGroupCommitOtherErrors(t *testing.T) {
	d := openInternal(t)
	storagetest.Migrate(t, "sqlite", d.Writer())
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Users().Create(ctx, &storage.User{ID: "u", Email: "u@example.com", Role: storage.RoleUser}))
	_, err := d.writer.ExecContext(ctx, "DROP TABLE api_keys")
	must(err)
	var errW1, errKey, errW2, errTx error
	queueBatch(t, d,
		func() {
			errTx = d.InTx(ctx, func(tx storage.Repos) error {
				return tx.Workflows().Create(ctx, &storage.WorkflowState{WorkflowExecID: "b3", WorkflowID: "g", Status: storage.StatusRunning})
			})
		},
		func() {
			errW1 = d.Workflows().Create(ctx, &storage.WorkflowState{WorkflowExecID: "b1", WorkflowID: "g", Status: storage.StatusRunning})
		},
		func() {
			errKey = d.APIKeys().Create(ctx, &storage.APIKey{ID: "k", UserID: "u", Hash: []byte{1}, Fingerprint: []byte{2}, Prefix: "p"})
		},
		func() {
			errW2 = d.Workflows().Create(ctx, &storage.WorkflowState{WorkflowExecID: "b2", WorkflowID: "g", Status: storage.StatusRunning})
		},
	)
	if errKey == nil {
		t.Error("insert into a dropped table succeeded")
	}
	if errW1 != nil || errW2 != nil || errTx != nil {
		t.Fatalf("the other members failed: %v, %v, %v", errW1, errW2, errTx)
	}
	for _, id := range []string{"b1", "b2", "b3"} {
		if _, err := d.Workflows().Get(ctx, id); err != nil {
			t.Errorf("workflow %s: %v", id, err)
		}
	}
}

// TestGroupCommitBrokenTransaction: a member that ends the whole transaction (here an InTx that
// issues a raw ROLLBACK, as SQLite does itself on some I/O errors) gets an error, the InTx that
// ran before it in the batch gets an error (its fn is not run twice), and every statement, and
// the InTx queued after it, runs again alone and commits.
func TestGroupCommitBrokenTransaction(t *testing.T) {
	d := openInternal(t)
	storagetest.Migrate(t, "sqlite", d.Writer())
	ctx := context.Background()
	wf := func(id string) *storage.WorkflowState {
		return &storage.WorkflowState{WorkflowExecID: id, WorkflowID: "g", Status: storage.StatusRunning}
	}
	var err1, err2, errBreak, err3, err4 error
	runs2 := 0
	queueBatch(t, d,
		func() { err1 = d.Workflows().Create(ctx, wf("x1")) },
		func() {
			err2 = d.InTx(ctx, func(tx storage.Repos) error {
				runs2++
				return tx.Workflows().Create(ctx, wf("x2"))
			})
		},
		func() {
			errBreak = d.inTx(ctx, func(r runner) error {
				_, err := r.tx.ExecContext(ctx, "ROLLBACK")
				return err
			})
		},
		func() { err3 = d.Workflows().Create(ctx, wf("x3")) },
		func() {
			err4 = d.InTx(ctx, func(tx storage.Repos) error { return tx.Workflows().Create(ctx, wf("x4")) })
		},
	)
	if err1 != nil || err3 != nil || err4 != nil {
		t.Fatalf("members that can run again failed: %v, %v, %v", err1, err3, err4)
	}
	if err2 == nil || runs2 != 1 {
		t.Errorf("InTx before the break: err %v after %d runs, want an error after 1 run", err2, runs2)
	}
	if errBreak == nil {
		t.Error("the breaking InTx succeeded")
	}
	for id, want := range map[string]bool{"x1": true, "x2": false, "x3": true, "x4": true} {
		_, err := d.Workflows().Get(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("workflow %s exists = %v (%v), want %v", id, got, err, want)
		}
	}
	// The writer works afterwards.
	if err := d.Workflows().Create(ctx, wf("x5")); err != nil {
		t.Fatal(err)
	}
}
