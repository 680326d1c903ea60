package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"compozy.dev/setup/core/storage"
)

// Group commit.
//
// Every write goes through one queue: a single statement (a repository call outside InTx) or a
// whole transaction (InTx). Whoever gets the writer runs what is queued, in arrival order, in
// ONE SQLite transaction and commits once, so a WAL commit (its page writes, its shared-memory
// locks and, with synchronous=FULL, its fsync) is shared by the batch. Each caller keeps what it
// would have had alone:
//
//   - durability: a caller returns only after the COMMIT that holds its writes has returned;
//   - isolation of failures: a statement's constraint error (conflict, foreign key, check)
//     aborts that statement only, as SQLite does inside any transaction; an InTx runs inside a
//     SAVEPOINT, so its error or panic rolls back its own writes only, and the error or panic
//     reaches its caller unchanged;
//   - read-your-writes and serial order: the batch runs its members one after the other on the
//     one writer connection, each seeing the writes of those before it (which commit with it).
//
// An error that ended the whole transaction (SQLite does that for I/O errors and a full disk,
// not for a constraint or a missing table) rolls the batch back; then each statement, and each
// InTx not yet run, runs again in a transaction of its own, and an InTx that already ran gets
// an error saying its transaction was rolled back (its fn is not run twice). Statements inside a group transaction run on a
// context without cancellation: an interrupted statement rolls back the whole transaction,
// every caller's writes with it. A caller whose context ends while it waits in the queue leaves
// it with the context's error.
//
// The token (a channel whose blocked senders are served in order) decides who runs the next
// batch; database/sql would hand its one connection to a random waiter.

// maxBatch bounds the members of one group commit, so that one commit stays short.
const maxBatch = 256

// Request states.
const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

// Outcomes of an InTx turn.
type turnResult int

const (
	turnOK     turnResult = iota // fn succeeded, its savepoint released
	turnFailed                   // fn failed or panicked, its savepoint rolled back
	turnBroken                   // the transaction is no longer usable
)

// savepoint names the savepoint of an InTx inside a group transaction.
const savepoint = "compozy_intx"

// writeReq is one queued write: a statement (fn == nil) or a transaction.
type writeReq struct {
	ctx  context.Context
	q    string
	args []any
	fn   func(r runner) error

	// turn hands the group transaction to the goroutine of a transaction request; back
	// returns the outcome of its fn.
	turn chan *sql.Tx
	back chan turnResult

	state atomic.Int32

	res      sql.Result
	err      error
	panicVal any
	panicked bool
	done     chan struct{}
}

// writeQueue holds the writes waiting for the writer.
type writeQueue struct {
	mu   sync.Mutex
	reqs []*writeReq
}

func (wq *writeQueue) push(r *writeReq) {
	wq.mu.Lock()
	wq.reqs = append(wq.reqs, r)
	wq.mu.Unlock()
}

// take removes up to maxBatch requests, oldest first, and claims those not abandoned.
func (wq *writeQueue) take() []*writeReq {
	wq.mu.Lock()
	n := min(len(wq.reqs), maxBatch)
	batch := make([]*writeReq, 0, n)
	for _, r := range wq.reqs[:n] {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			batch = append(batch, r)
		}
	}
	rest := copy(wq.reqs, wq.reqs[n:])
	clear(wq.reqs[rest:])
	wq.reqs = wq.reqs[:rest]
	wq.mu.Unlock()
	return batch
}

// groupExec runs one write statement through the group commit and returns when the transaction
// that holds it has committed (or failed).
func (d *DB) groupExec(ctx context.Context, q string, args []any) (sql.Result, error) {
	r := &writeReq{ctx: ctx, q: q, args: args}
	if err := d.submit(r); err != nil {
		return nil, err
	}
	return r.res, r.err
}

// groupTx runs fn as one transaction through the group commit: inside a savepoint of the group
// transaction, on the calling goroutine. It returns fn's error as it is, or the commit's error
// wrapped; fn's panic continues once the group transaction is settled.
func (d *DB) groupTx(ctx context.Context, fn func(r runner) error) error {
	r := &writeReq{ctx: ctx, fn: fn, turn: make(chan *sql.Tx), back: make(chan turnResult, 1)}
	if err := d.submit(r); err != nil {
		return err
	}
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// submit queues r and waits until it is done: run by the goroutine that holds the writer,
// which is this one when it gets the writer first.
func (d *DB) submit(r *writeReq) error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("wait for sqlite writer: %w", err)
	}
	r.done = make(chan struct{})
	d.queue.push(r)
	ctxDone := r.ctx.Done()
	for {
		select {
		case <-r.done:
			return nil
		case tx := <-r.turn:
			r.back <- d.runTurn(r, tx)
		case d.token <- struct{}{}:
			// No other goroutine runs a batch now, so r is either done or still queued.
			d.prepareWriter(r.ctx)
			for r.state.Load() == reqQueued {
				d.runBatch(d.queue.take(), r)
			}
			<-d.token
			<-r.done
			return nil
		case <-ctxDone:
			if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
				return fmt.Errorf("wait for sqlite writer: %w", r.ctx.Err())
			}
			ctxDone = nil // taken: wait for its outcome
		}
	}
}

// runBatch runs a batch in one transaction and completes its requests. Caller holds the token;
// own is its own request, whose fn it runs itself.
func (d *DB) runBatch(batch []*writeReq, own *writeReq) {
	if len(batch) == 0 {
		return
	}
	if len(batch) == 1 && batch[0].fn == nil {
		d.runAlone(batch[0])
		return
	}
	bg := context.WithoutCancel(batch[0].ctx)
	tx, err := d.writer.BeginTx(bg, nil)
	if err != nil {
		d.finish(batch, fmt.Errorf("begin transaction: %w", mapErr(err)))
		return
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("wait for sqlite writer: %w", err)
			continue
		}
		broken := false
		if r.fn == nil {
			r.res, r.err = d.execIn(bg, tx, r.q, r.args)
			broken = r.err != nil && !statementOnly(r.err) && !txAlive(bg, tx)
		} else {
			broken = d.handTurn(r, tx, own) == turnBroken
		}
		if broken {
			_ = tx.Rollback()
			d.settleBroken(batch, i, own)
			return
		}
	}
	if !slices.ContainsFunc(batch, func(r *writeReq) bool { return r.err == nil }) {
		// Every member failed and undid its writes: end with ROLLBACK, so that a batch with
		// nothing to keep writes nothing at all (COMMIT would rewrite the pages the undone
		// writes touched, and a read-only caller such as the doctor's round trip must leave the
		// file as it found it).
		_ = tx.Rollback()
	} else if err := tx.Commit(); err != nil {
		d.finish(batch, fmt.Errorf("commit transaction: %w", mapErr(err)))
		return
	}
	for _, r := range batch {
		close(r.done)
	}
}

// handTurn runs a transaction request's fn in the group transaction: inline when it is own,
// else on the goroutine that asked for it, which waits in submit for its turn.
func (d *DB) handTurn(r *writeReq, tx *sql.Tx, own *writeReq) turnResult {
	if r == own {
		return d.runTurn(r, tx)
	}
	r.turn <- tx
	return <-r.back
}

// settleBroken settles a batch whose transaction broke at member broke: statements and transactions
// not yet run go again in transactions of their own; a transaction that ran gets the error.
func (d *DB) settleBroken(batch []*writeReq, broke int, own *writeReq) {
	for i, r := range batch {
		switch {
		case r.fn != nil && (i < broke || (i == broke && len(batch) == 1)):
			if r.err == nil {
				r.err = errors.New("commit transaction: the transaction was rolled back by a database error")
			}
			close(r.done)
		case r.fn != nil && i == broke:
			// Its fn failed the transaction: its own error stands.
			close(r.done)
		default:
			r.res, r.err = nil, nil
			if r.fn == nil {
				d.runAlone(r)
			} else {
				d.runBatch([]*writeReq{r}, own)
			}
		}
	}
}

// runTurn runs fn inside a savepoint of tx and reports the outcome. It recovers fn's panic
// into r, to be re-raised by the owner once the batch is settled.
func (d *DB) runTurn(r *writeReq, tx *sql.Tx) (res turnResult) {
	bg := context.WithoutCancel(r.ctx)
	if _, err := tx.ExecContext(bg, "SAVEPOINT "+savepoint); err != nil {
		r.err = fmt.Errorf("begin transaction: %w", mapErr(err))
		return turnBroken
	}
	defer func() {
		if p := recover(); p != nil {
			r.panicked, r.panicVal = true, p
			res = d.rollbackTurn(bg, tx)
		}
	}()
	if err := r.fn(runner{db: d, tx: tx}); err != nil {
		r.err = err
		return d.rollbackTurn(bg, tx)
	}
	if _, err := tx.ExecContext(bg, "RELEASE "+savepoint); err != nil {
		r.err = fmt.Errorf("commit transaction: %w", mapErr(err))
		return turnBroken
	}
	return turnOK
}

// rollbackTurn undoes an InTx's writes. When the savepoint is gone, SQLite rolled the whole
// transaction back.
func (d *DB) rollbackTurn(ctx context.Context, tx *sql.Tx) turnResult {
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO "+savepoint); err != nil {
		return turnBroken
	}
	if _, err := tx.ExecContext(ctx, "RELEASE "+savepoint); err != nil {
		return turnBroken
	}
	return turnFailed
}

// runAlone executes one statement in its own (implicit) transaction.
func (d *DB) runAlone(r *writeReq) {
	ctx := context.WithoutCancel(r.ctx)
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("wait for sqlite writer: %w", err)
	} else if st := d.wstmts[r.q]; st != nil {
		r.res, r.err = st.ExecContext(ctx, r.args...)
	} else {
		r.res, r.err = d.writer.ExecContext(ctx, r.q, r.args...)
	}
	close(r.done)
}

// execIn runs a statement in tx, prepared when it can be.
func (d *DB) execIn(ctx context.Context, tx *sql.Tx, q string, args []any) (sql.Result, error) {
	if st := d.wstmts[q]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// finish completes every request of the batch with err, unless its own fn failed already.
func (d *DB) finish(batch []*writeReq, err error) {
	for _, r := range batch {
		if r.err == nil || r.fn == nil {
			r.res, r.err = nil, err
		}
		close(r.done)
	}
}

// txAlive reports whether the group transaction survived a statement's error: SQLite undoes
// only the statement for most errors (a missing table, a constraint), but rolls the whole
// transaction back for some (I/O, disk full). The probe is a BEGIN, which fails inside a
// transaction; when it succeeds, the transaction was gone (and the caller's Rollback ends the
// one the probe began). It costs nothing on the path without errors, unlike a savepoint held
// open for the whole batch, which makes SQLite journal every page the batch changes.
func txAlive(ctx context.Context, tx *sql.Tx) bool {
	_, err := tx.ExecContext(ctx, "BEGIN")
	return err != nil && strings.Contains(err.Error(), "within a transaction")
}

// statementOnly reports whether err undid only the failing statement and left the transaction
// open: a constraint violation, with SQLite's default ABORT resolution.
func statementOnly(err error) bool {
	m := mapErr(err)
	return errors.Is(m, storage.ErrConflict) || errors.Is(m, storage.ErrInvalid)
}
