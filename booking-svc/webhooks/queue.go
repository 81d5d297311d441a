package webhooks

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// queueName is the River queue that carries deliveries.
const queueName = "webhooks"

// maxAttempts is River's cap on attempts of one delivery job. The retry horizon ends a delivery
// long before it at the default settings; the cap only bounds a misconfigured schedule.
const maxAttempts = 1000

// deliveryArgs is one delivery job: one event to one endpoint. The body is rebuilt from the
// outbox row on every attempt, so the job holds ids only.
type deliveryArgs struct {
	EndpointID uuid.UUID `json:"endpoint_id"`
	EventID    uuid.UUID `json:"event_id"`
	// Redelivery marks a delivery that an integrator asked for again.
	Redelivery bool `json:"redelivery,omitempty"`
}

func (deliveryArgs) Kind() string { return "webhook_delivery" }

func (deliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, MaxAttempts: maxAttempts}
}

// MigrateQueue creates or upgrades River's tables (river_job and its companions) in the
// database. It is safe to run again; `booking-svc migrate` runs it after the schema migrations.
// It returns the River migration versions it applied.
func MigrateQueue(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, fmt.Errorf("create job queue migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate job queue tables: %w", err)
	}
	versions := make([]int, 0, len(res.Versions))
	for _, v := range res.Versions {
		versions = append(versions, v.Version)
	}
	return versions, nil
}
