package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Echo lets a writer wait, after commit, until every live availability replica has applied its
// change notifications. Replicas acknowledge each change on AckChannel once they have evicted,
// and send a heartbeat every HeartbeatInterval; Echo waits for the replicas heard from in the
// last three intervals. Answering only then makes a write visible to the caller's very next
// availability request, whichever replica serves it.
//
// NOTE: a replica that connects after the write purges its cache on connecting, so it needs no
// acknowledgement; a replica that stops acknowledging costs each write the full timeout until it
// has been silent for three heartbeat intervals.
type Echo struct {
	mu        sync.Mutex
	replicas  map[string]time.Time // replica id -> last heard
	waiting   map[string]*pending  // change id -> replicas still to acknowledge
	listening atomic.Bool
}

type pending struct {
	missing map[string]bool
	done    chan struct{}
}

// NewEcho returns an Echo; call Run to start listening.
func NewEcho() *Echo {
	return &Echo{replicas: map[string]time.Time{}, waiting: map[string]*pending{}}
}

// Run listens until ctx ends, reconnecting after a second when the connection drops.
func (e *Echo) Run(ctx context.Context, databaseURL string, log *slog.Logger) {
	for ctx.Err() == nil {
		err := e.listen(ctx, databaseURL)
		e.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		log.Warn("acknowledgement connection lost; reconnecting", "error", err.Error())
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
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{AckChannel}.Sanitize()); err != nil {
		return err
	}
	e.listening.Store(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var ack Ack
		if err := json.Unmarshal([]byte(n.Payload), &ack); err != nil || ack.Replica == "" {
			continue
		}
		e.received(ack)
	}
}

func (e *Echo) received(ack Ack) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replicas[ack.Replica] = time.Now()
	for _, id := range ack.Changes() {
		if p, ok := e.waiting[id]; ok {
			delete(p.missing, ack.Replica)
			if len(p.missing) == 0 {
				close(p.done)
				delete(e.waiting, id)
			}
		}
	}
}

// Expect registers a change before its transaction commits, to be acknowledged by every
// replica alive now.
func (e *Echo) Expect(id string) {
	if !e.listening.Load() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := &pending{missing: map[string]bool{}, done: make(chan struct{})}
	for replica, last := range e.replicas {
		if time.Since(last) > 3*HeartbeatInterval {
			delete(e.replicas, replica)
			continue
		}
		p.missing[replica] = true
	}
	if len(p.missing) == 0 {
		return
	}
	e.waiting[id] = p
}

// Wait blocks until every expected acknowledgement has arrived, for at most timeout, and
// forgets the ids either way.
func (e *Echo) Wait(ids []string, timeout time.Duration) {
	defer e.Forget(ids)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, id := range ids {
		e.mu.Lock()
		p, ok := e.waiting[id]
		e.mu.Unlock()
		if !ok {
			continue
		}
		select {
		case <-p.done:
		case <-deadline.C:
			return
		}
	}
}

// Forget drops the ids, for a transaction that rolled back.
func (e *Echo) Forget(ids []string) {
	e.mu.Lock()
	for _, id := range ids {
		delete(e.waiting, id)
	}
	e.mu.Unlock()
}
