-- +goose Up

-- Where an organisation wants its booking events sent. River's own tables (the job queue that
-- carries each delivery) are created by River's migrator, which `booking-svc migrate` runs
-- after these files.
CREATE TABLE webhook_endpoints (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id            uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    url                        text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description                text NOT NULL DEFAULT '',
    -- Event types such as 'booking.created', or '*' for every type.
    event_types                text[] NOT NULL CHECK (cardinality(event_types) > 0),
    -- 'failing' is set by the delivery worker when an event could not be delivered within the
    -- retry horizon; a successful delivery or an update to 'enabled' clears it.
    status                     text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled', 'failing')),
    failing_since              timestamptz,
    -- NOTE: secrets are stored as they are because every delivery needs them to compute an
    -- HMAC; anyone who can read this table can sign requests as Setora.
    secret                     text NOT NULL,
    -- The secret replaced by the last rotation, still used to sign until it expires.
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'failing') = (failing_since IS NOT NULL)),
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
);
CREATE INDEX webhook_endpoints_list_idx ON webhook_endpoints (organisation_id, created_at, id);

-- One row per delivery attempt, kept as long as its endpoint and event exist.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
    -- Counts from 1 within one delivery job; a redelivery starts a new job at 1.
    attempt         integer NOT NULL CHECK (attempt >= 1),
    redelivery      boolean NOT NULL DEFAULT false,
    outcome         text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    -- NULL when no HTTP response arrived (timeout, refused connection, blocked address).
    status_code     integer,
    latency_ms      integer NOT NULL CHECK (latency_ms >= 0),
    error           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (endpoint_id, event_id) WHERE outcome = 'succeeded';

-- The dispatcher sets dispatched_at when it has queued one delivery job per subscribed endpoint.
-- Rows written before this migration had no endpoint to go to.
ALTER TABLE outbox_events ADD COLUMN dispatched_at timestamptz;
UPDATE outbox_events SET dispatched_at = now();
CREATE INDEX outbox_events_undispatched_idx ON outbox_events (created_at, id) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_events_booking_idx ON outbox_events (organisation_id, booking_id, created_at, id);
CREATE INDEX outbox_events_type_idx ON outbox_events (organisation_id, type, created_at, id);
COMMENT ON COLUMN outbox_events.delivered_at IS
    'Not set: webhook delivery is tracked per endpoint in webhook_deliveries, dispatch in dispatched_at.';

-- +goose Down
COMMENT ON COLUMN outbox_events.delivered_at IS NULL;
DROP INDEX outbox_events_type_idx, outbox_events_booking_idx, outbox_events_undispatched_idx;
ALTER TABLE outbox_events DROP COLUMN dispatched_at;
DROP TABLE webhook_deliveries, webhook_endpoints;
