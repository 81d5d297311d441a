-- +goose Up

-- No query filters bookings by location and interval: schedules are read per staff member,
-- through the exclusion constraint's index on (staff_id, blocked), because a staff member busy
-- at one location is busy at all of them. While this index existed the planner could pick it
-- for those reads and scan every booking in the interval.
DROP INDEX bookings_location_blocked_idx;

-- delivered_at is never set (webhook_deliveries tracks delivery per endpoint), so this partial
-- index held every event and served no query.
DROP INDEX outbox_events_created_at_idx;

-- +goose Down
CREATE INDEX outbox_events_created_at_idx ON outbox_events (created_at) WHERE delivered_at IS NULL;
CREATE INDEX bookings_location_blocked_idx ON bookings USING gist (location_id, blocked)
    WHERE status IN ('held', 'confirmed', 'completed', 'no_show');
