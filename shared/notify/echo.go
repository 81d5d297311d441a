package notify

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Echo listens on the channel from the sending side so that a writer can wait, after commit,
// until PostgreSQL has delivered its notifications. PostgreSQL signals every listening session
// at commit, so by the time a notification has come back to the sender it has been sent to the
// availability replicas as well; answering only then means that, in practice, they have
// evicted before the caller's next availability request arrives.
//
// NOTE: this narrows the window to a replica's own processing time (microseconds) but does not
// close it; a replica whose LISTEN connection is slow or down is covered by its purge on
// reconnect, not by this wait.
type Echo struct {
	mu        sync.Mutex
	waiting   map[string]chan struct{}
	listening atomic.Bool
}

// NewEcho returns an Echo; call Run to start listening.
func NewEcho() *Echo {
	return &Echo{waiting: map[string]chan struct{}{}}
}

// Run listens until ctx ends, reconnecting after a second when the connection drops.
func (e *Echo) Run(ctx context.Context, databaseURL string, log *slog.Logger) {
	for ctx.Err() == nil {
		err := e.listen(ctx, databaseURL)
		e.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		log.Warn("notification echo connection lost; reconnecting", "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (e *Echo) listen(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return err
	}
	e.listening.Store(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		change, err := Parse(n.Payload)
		if err != nil || change.ID == "" {
			continue
		}
		e.mu.Lock()
		if ch, ok := e.waiting[change.ID]; ok {
			close(ch)
			delete(e.waiting, change.ID)
		}
		e.mu.Unlock()
	}
}

// Expect registers interest in a notification before its transaction commits.
func (e *Echo) Expect(id string) {
	e.mu.Lock()
	e.waiting[id] = make(chan struct{})
	e.mu.Unlock()
}

// Wait blocks until every expected notification has come back, for at most timeout. It returns
// at once when the echo connection is down, and forgets the ids either way.
func (e *Echo) Wait(ids []string, timeout time.Duration) {
	if len(ids) == 0 {
		return
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, id := range ids {
		e.mu.Lock()
		ch, ok := e.waiting[id]
		e.mu.Unlock()
		if !ok || !e.listening.Load() {
			continue
		}
		select {
		case <-ch:
		case <-deadline.C:
			e.Forget(ids)
			return
		}
	}
	e.Forget(ids)
}

// Forget drops the ids, for a transaction that rolled back.
func (e *Echo) Forget(ids []string) {
	e.mu.Lock()
	for _, id := range ids {
		delete(e.waiting, id)
	}
	e.mu.Unlock()
}
