-- +goose Up
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE organisations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    mode       text NOT NULL CHECK (mode IN ('live', 'test')),
    -- A frozen "now" for a test-mode organisation; NULL means real time.
    test_clock timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (mode = 'test' OR test_clock IS NULL)
);

CREATE TABLE api_keys (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id       uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- The first characters of the key, shown in listings and logs so a key can be recognised.
    prefix                text NOT NULL UNIQUE,
    -- SHA-256 of the whole key; the key itself is never stored.
    hash                  bytea NOT NULL UNIQUE,
    scopes                text[] NOT NULL,
    rate_limit_per_minute integer NOT NULL DEFAULT 120 CHECK (rate_limit_per_minute BETWEEN 1 AND 100000),
    description           text NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL DEFAULT now(),
    last_used_at          timestamptz,
    revoked_at            timestamptz
);

CREATE TABLE locations (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id     uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    slug                text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 64),
    name                text NOT NULL,
    time_zone           text NOT NULL,
    slot_step_minutes   integer NOT NULL DEFAULT 15 CHECK (slot_step_minutes BETWEEN 5 AND 240),
    min_notice_minutes  integer NOT NULL DEFAULT 0 CHECK (min_notice_minutes BETWEEN 0 AND 43200),
    booking_window_days integer NOT NULL DEFAULT 60 CHECK (booking_window_days BETWEEN 1 AND 730),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organisation_id, slug),
    UNIQUE (organisation_id, id)
);

-- Weekday follows Go's time.Weekday: 0 is Sunday. Minutes count from local midnight; an end
-- past 1440 crosses midnight and belongs to the weekday it starts on.
CREATE TABLE location_opening_hours (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id  uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    weekday      smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   integer NOT NULL CHECK (end_minute > start_minute AND end_minute <= 2880)
);
CREATE INDEX ON location_opening_hours (location_id);

CREATE TABLE location_closures (
    location_id uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    closed_on   date NOT NULL,
    reason      text NOT NULL DEFAULT '',
    PRIMARY KEY (location_id, closed_on)
);

CREATE TABLE services (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id       uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name                  text NOT NULL,
    duration_minutes      integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 720),
    buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 240),
    buffer_after_minutes  integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 240),
    -- Money in minor units (pence for GBP).
    price_minor           bigint NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    deposit_minor         bigint NOT NULL DEFAULT 0 CHECK (deposit_minor >= 0 AND deposit_minor <= price_minor),
    currency              char(3) NOT NULL DEFAULT 'GBP' CHECK (currency ~ '^[A-Z]{3}$'),
    active                boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organisation_id, id)
);

CREATE TABLE staff (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name            text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organisation_id, id)
);

-- Which staff perform which services at which locations.
CREATE TABLE staff_services (
    organisation_id uuid NOT NULL,
    staff_id        uuid NOT NULL,
    service_id      uuid NOT NULL,
    location_id     uuid NOT NULL,
    PRIMARY KEY (staff_id, service_id, location_id),
    FOREIGN KEY (organisation_id, staff_id) REFERENCES staff (organisation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, service_id) REFERENCES services (organisation_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organisation_id, location_id) REFERENCES locations (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX ON staff_services (location_id);

-- Weekly working hours and breaks per staff member and location. kind 'work' is a working
-- window; kind 'break' is a break inside the windows of the same weekday.
CREATE TABLE staff_weekly_hours (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id     uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    location_id  uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    weekday      smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    kind         text NOT NULL CHECK (kind IN ('work', 'break')),
    start_minute integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   integer NOT NULL CHECK (end_minute > start_minute AND end_minute <= 2880)
);
CREATE INDEX ON staff_weekly_hours (location_id, staff_id);

-- Special hours replace the weekly hours of one date. A day with no 'work' window means the
-- staff member does not work that date at that location.
CREATE TABLE staff_special_days (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    staff_id    uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    location_id uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    on_date     date NOT NULL,
    UNIQUE (staff_id, location_id, on_date)
);
CREATE INDEX ON staff_special_days (location_id, on_date);

CREATE TABLE staff_special_windows (
    special_day_id uuid NOT NULL REFERENCES staff_special_days (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('work', 'break')),
    start_minute   integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute     integer NOT NULL CHECK (end_minute > start_minute AND end_minute <= 2880)
);
CREATE INDEX ON staff_special_windows (special_day_id);

CREATE TABLE time_off (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    staff_id        uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    period          tstzrange NOT NULL CHECK (NOT isempty(period) AND lower_inc(period) AND NOT upper_inc(period)),
    reason          text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON time_off USING gist (staff_id, period);

CREATE TABLE clients (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name            text,
    -- E.164, normalised on the way in.
    phone           text,
    email           text,
    notes           text,
    erased_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organisation_id, id)
);
CREATE UNIQUE INDEX clients_phone_key ON clients (organisation_id, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX clients_email_key ON clients (organisation_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX ON clients (organisation_id, created_at, id);

-- A booking's status. 'held' and 'confirmed' block their interval; a held booking stops blocking
-- at hold_expires_at even before the sweeper marks it 'expired'. 'completed' and 'no_show' keep
-- their interval so the past stays consistent.
CREATE TABLE bookings (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id      uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    reference            text NOT NULL UNIQUE CHECK (reference ~ '^SET-[A-Z0-9]{6}$'),
    location_id          uuid NOT NULL,
    staff_id             uuid NOT NULL,
    client_id            uuid,
    status               text NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled', 'expired', 'completed', 'no_show')),
    starts_at            timestamptz NOT NULL,
    ends_at              timestamptz NOT NULL CHECK (ends_at > starts_at),
    -- The service time plus the first service's buffer before and the last one's buffer after.
    blocked              tstzrange NOT NULL CHECK (NOT isempty(blocked) AND lower_inc(blocked) AND NOT upper_inc(blocked)),
    hold_expires_at      timestamptz,
    notes                text NOT NULL DEFAULT '',
    source               text NOT NULL DEFAULT 'api',
    cancel_reason        text,
    cancelled_by         text,
    cancelled_at         timestamptz,
    confirmed_at         timestamptz,
    deposit_amount_minor bigint,
    deposit_currency     char(3),
    payment_reference    text,
    -- Counts the changes of this booking; each outbox event carries the value after its change.
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organisation_id, location_id) REFERENCES locations (organisation_id, id),
    FOREIGN KEY (organisation_id, staff_id) REFERENCES staff (organisation_id, id),
    FOREIGN KEY (organisation_id, client_id) REFERENCES clients (organisation_id, id),
    CHECK (status <> 'held' OR hold_expires_at IS NOT NULL),
    -- The last guard against double booking: no two active intervals of one staff member overlap.
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (staff_id WITH =, blocked WITH &&)
        WHERE (status IN ('held', 'confirmed', 'completed', 'no_show'))
);
CREATE INDEX bookings_list_idx ON bookings (organisation_id, starts_at, id);
CREATE INDEX bookings_location_blocked_idx ON bookings USING gist (location_id, blocked)
    WHERE status IN ('held', 'confirmed', 'completed', 'no_show');
CREATE INDEX bookings_client_idx ON bookings (client_id, starts_at, id);
CREATE INDEX bookings_hold_expiry_idx ON bookings (hold_expires_at) WHERE status = 'held';

-- The services of a booking in the order given, with the values that applied when it was made.
CREATE TABLE booking_services (
    booking_id            uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    position              smallint NOT NULL,
    service_id            uuid NOT NULL REFERENCES services (id),
    duration_minutes      integer NOT NULL,
    buffer_before_minutes integer NOT NULL,
    buffer_after_minutes  integer NOT NULL,
    price_minor           bigint NOT NULL,
    deposit_minor         bigint NOT NULL,
    currency              char(3) NOT NULL,
    PRIMARY KEY (booking_id, position)
);

CREATE TABLE idempotency_keys (
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 over method, path and body.
    fingerprint     bytea NOT NULL,
    -- NULL while the first request is still running.
    response_status integer,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (organisation_id, key)
);
CREATE INDEX ON idempotency_keys (expires_at);

-- Events written in the same transaction as the change they describe; webhooks deliver them.
CREATE TABLE outbox_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    booking_id      uuid REFERENCES bookings (id) ON DELETE CASCADE,
    type            text NOT NULL,
    sequence        integer NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX ON outbox_events (organisation_id, created_at, id);
CREATE INDEX ON outbox_events (created_at) WHERE delivered_at IS NULL;

-- availability-svc connects as this role and can only read the tables it needs; it never sees
-- client details. The password, if any, is set by whoever runs the cluster.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'setora_reader') THEN
        CREATE ROLE setora_reader LOGIN;
    END IF;
END
$$;
-- +goose StatementEnd
GRANT USAGE ON SCHEMA public TO setora_reader;
GRANT SELECT ON organisations, api_keys, locations, location_opening_hours, location_closures,
    services, staff, staff_services, staff_weekly_hours, staff_special_days, staff_special_windows,
    time_off TO setora_reader;
GRANT SELECT (id, organisation_id, location_id, staff_id, status, starts_at, ends_at, blocked, hold_expires_at)
    ON bookings TO setora_reader;

-- +goose Down
DROP TABLE outbox_events, idempotency_keys, booking_services, bookings, clients, time_off,
    staff_special_windows, staff_special_days, staff_weekly_hours, staff_services, staff, services,
    location_closures, location_opening_hours, locations, api_keys, organisations;
