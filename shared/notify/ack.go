package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AckChannel carries availability replicas' acknowledgements and heartbeats back to
// booking-svc. pg_notify needs no write privilege, so the read-only role can send them.
const AckChannel = "setora_acks"

// HeartbeatInterval is how often a replica announces itself; a replica silent for three
// intervals is no longer waited for.
const HeartbeatInterval = 5 * time.Second

// Ack is a replica's message: with ChangeID or ChangeIDs, "I have applied these changes";
// without either, a heartbeat.
type Ack struct {
	Replica  string `json:"replica"`
	ChangeID string `json:"change_id,omitempty"`
	// ChangeIDs acknowledges several changes in one message, at most MaxAckedChanges.
	ChangeIDs []string `json:"change_ids,omitempty"`
}

// MaxAckedChanges bounds the changes of one Ack, which keeps its payload well below
// PostgreSQL's limit of 8,000 bytes for a notification.
const MaxAckedChanges = 100

// Changes returns every change the message acknowledges.
func (a Ack) Changes() []string {
	if a.ChangeID == "" {
		return a.ChangeIDs
	}
	return append([]string{a.ChangeID}, a.ChangeIDs...)
}

// SendAck sends an acknowledgement or heartbeat on conn.
func SendAck(ctx context.Context, conn *pgx.Conn, ack Ack) error {
	payload, err := json.Marshal(ack)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", AckChannel, string(payload)); err != nil {
		return fmt.Errorf("send acknowledgement: %w", err)
	}
	return nil
}
