// Package listener keeps a LISTEN connection to PostgreSQL open and hands every change
// notification to the caches, reconnecting with backoff when the connection drops.
package listener

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/setora/rest/shared/notify"
)

// Handler receives the listener's events.
type Handler interface {
	// Connected is called with true once LISTEN is established and false when the connection
	// is lost.
	Connected(up bool)
	// Changed is called for every notification, in order.
	Changed(change notify.Change)
}

// Run listens until ctx ends. databaseURL must reach the primary directly, not a pooler in
// transaction mode, because LISTEN lives on one session. replica names this process in the
// acknowledgements it sends back after applying each change, and in its heartbeats.
func Run(ctx context.Context, databaseURL, replica string, h Handler, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listen(ctx, databaseURL, replica, h, log, func() { backoff = 100 * time.Millisecond })
		h.Connected(false)
		if ctx.Err() != nil {
			return
		}
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
		log.Warn("LISTEN connection lost; reconnecting", "error", err.Error(), "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func listen(ctx context.Context, databaseURL, replica string, h Handler, log *slog.Logger, connected func()) error {
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(connectCtx, databaseURL)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	// Acknowledgements need no durability. A transaction that sends NOTIFY holds a database-wide
	// lock until its commit returns, so skipping the WAL flush keeps acknowledgements from
	// holding up booking-svc's commits while the disk writes.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{notify.Channel}.Sanitize()); err != nil {
		return err
	}
	h.Connected(true)
	connected()
	log.Info("LISTEN connection established", "channel", notify.Channel, "replica", replica)
	if err := notify.SendAck(ctx, conn, notify.Ack{Replica: replica}); err != nil {
		return err
	}

	for {
		// A wait that times out leaves the connection usable; it is the moment to heartbeat.
		waitCtx, cancel := context.WithTimeout(ctx, notify.HeartbeatInterval)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			if err := notify.SendAck(ctx, conn, notify.Ack{Replica: replica}); err != nil {
				return err
			}
			continue
		}

		applied := apply(h, n, log, nil)
		// Notifications that arrived while the last acknowledgement was on its way wait in the
		// connection's buffer. Applying them now lets one acknowledgement cover them all, so
		// a burst of bookings costs each replica a few NOTIFY transactions, not one per booking.
		for len(applied) < notify.MaxAckedChanges {
			more, err := conn.WaitForNotification(alreadyDone)
			if err != nil || more == nil {
				break
			}
			applied = apply(h, more, log, applied)
		}
		if len(applied) > 0 {
			if err := notify.SendAck(ctx, conn, notify.Ack{Replica: replica, ChangeIDs: applied}); err != nil {
				return err
			}
		}
	}
}

// alreadyDone is a cancelled context: a wait with it returns a notification only when one is
// already buffered, and leaves the connection usable either way.
var alreadyDone = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// apply hands the notification's change to h and returns applied with the change's id added,
// when it has one.
func apply(h Handler, n *pgconn.Notification, log *slog.Logger, applied []string) []string {
	change, err := notify.Parse(n.Payload)
	if err != nil {
		log.Error("malformed change notification; purging the cache", "error", err.Error())
		change = notify.Change{Kind: "unknown"}
	}
	h.Changed(change)
	if change.ID != "" {
		applied = append(applied, change.ID)
	}
	return applied
}
