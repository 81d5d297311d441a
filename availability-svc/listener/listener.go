// Package listener keeps a LISTEN connection to PostgreSQL open and hands every change
// notification to the caches, reconnecting with backoff when the connection drops.
package listener

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

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
// transaction mode, because LISTEN lives on one session.
func Run(ctx context.Context, databaseURL string, h Handler, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listen(ctx, databaseURL, h, log, func() { backoff = 100 * time.Millisecond })
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

func listen(ctx context.Context, databaseURL string, h Handler, log *slog.Logger, connected func()) error {
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(connectCtx, databaseURL)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{notify.Channel}.Sanitize()); err != nil {
		return err
	}
	h.Connected(true)
	connected()
	log.Info("LISTEN connection established", "channel", notify.Channel)

	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		change, err := notify.Parse(n.Payload)
		if err != nil {
			log.Error("ignoring malformed change notification", "error", err.Error())
			continue
		}
		h.Changed(change)
	}
}
