package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// keyRateLimit is the per-minute limit of the keys a run creates: the highest the schema
// allows, so that the load measures the services rather than the rate limiter.
const keyRateLimit = 100000

// setUpShop writes the planned shop and its existing bookings. It returns the candidates that
// are still free, shuffled.
func setUpShop(ctx context.Context, log *slog.Logger, pool *pgxpool.Pool, api *apiClient, s *shop, rng *mrand.Rand) ([]candidate, error) {
	started := time.Now()
	for _, org := range s.Orgs {
		if s.Config.Catalogue == "sql" {
			if err := insertCatalogue(ctx, pool, org, s.Config.KeysPerOrg); err != nil {
				return nil, err
			}
			continue
		}
		if err := insertOrganisation(ctx, pool, org, s.Config.KeysPerOrg); err != nil {
			return nil, err
		}
		if err := createCatalogueAPI(ctx, api, org); err != nil {
			return nil, fmt.Errorf("create the catalogue through the API: %w", err)
		}
	}
	log.Info("catalogue created", "organisations", len(s.Orgs), "locations", len(s.locations()),
		"via", s.Config.Catalogue, "took", time.Since(started).Round(time.Millisecond).String())

	started = time.Now()
	var seeded int
	var free []candidate
	var err error
	if s.Config.Seed == "sql" {
		seeded, err = seedBookingsSQL(ctx, pool, s)
		if err == nil {
			free, err = freeCandidates(ctx, pool, s)
		}
	} else {
		seeded, free, err = seedBookingsAPI(ctx, api, s, rng)
	}
	if err != nil {
		return nil, err
	}
	rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	log.Info("existing bookings created", "bookings", seeded, "free_slots", len(free), "via", s.Config.Seed,
		"took", time.Since(started).Round(time.Millisecond).String())
	return free, nil
}

// insertCatalogue writes one organisation with its keys, services, locations, staff and hours
// in one transaction.
func insertCatalogue(ctx context.Context, pool *pgxpool.Pool, org *organisation, keys int) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		if err := queueOrganisation(batch, org, keys); err != nil {
			return err
		}
		for _, svc := range org.Services {
			batch.Queue(`INSERT INTO services (id, organisation_id, name, duration_minutes, buffer_before_minutes,
					buffer_after_minutes, price_minor, deposit_minor, currency)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'GBP')`,
				svc.ID, org.ID, svc.Name, svc.Minutes, svc.BufferBefore, svc.BufferAfter, svc.PriceMinor, svc.DepositMinor)
		}
		for _, loc := range org.Locations {
			queueLocation(batch, org, loc)
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("create organisation %s: %w", org.ID, err)
		}
		return nil
	})
}

func queueLocation(batch *pgx.Batch, org *organisation, loc *location) {
	batch.Queue(`INSERT INTO locations (id, organisation_id, slug, name, time_zone, slot_step_minutes,
			min_notice_minutes, booking_window_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		loc.ID, org.ID, loc.Slug, "Load test "+loc.Slug, loc.ZoneName, slotStepMinutes, minNoticeMinutes, bookingWindowDays)
	batch.Queue(`INSERT INTO location_opening_hours (location_id, weekday, start_minute, end_minute)
		SELECT $1, d, 480, 1200 FROM generate_series(0, 6) d`, loc.ID)
	for i, st := range loc.Staff {
		batch.Queue(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, $3)`,
			st.ID, org.ID, fmt.Sprintf("Staff %d of %s", i+1, loc.Slug))
		for _, j := range st.Services {
			batch.Queue(`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id)
				VALUES ($1, $2, $3, $4)`, org.ID, st.ID, org.Services[j].ID, loc.ID)
		}
		batch.Queue(`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
			SELECT $1, $2, d, k.kind, k.start_minute, k.end_minute
			FROM generate_series(1, 6) d,
				(VALUES ('work', $3::int, $4::int), ('break', $5::int, $6::int)) AS k (kind, start_minute, end_minute)`,
			st.ID, loc.ID, workStart, workEnd, breakStart, breakEnd)
		if st.Sundays {
			batch.Queue(`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
				VALUES ($1, $2, 0, 'work', $3, $4)`, st.ID, loc.ID, sundayFrom, sundayTo)
		}
	}
}

// seedBookingsSQL books about the configured fraction of every staff member's half-hour starts
// in one statement per organisation. These rows skip booking-svc, so they have no client,
// services or outbox events; the availability reads see them all the same.
func seedBookingsSQL(ctx context.Context, pool *pgxpool.Pool, s *shop) (int, error) {
	total := 0
	for _, org := range s.Orgs {
		first := org.Locations[0].firstDay()
		last := first.AddDate(0, 0, s.Config.Weeks*7-1)
		tag, err := pool.Exec(ctx, seedSQL, org.ID, first.Format(time.DateOnly), last.Format(time.DateOnly), s.Config.Booked)
		if err != nil {
			return total, fmt.Errorf("seed bookings of organisation %s: %w", org.ID, err)
		}
		total += int(tag.RowsAffected())
	}
	return total, nil
}

// seedSQL inserts 30-minute bookings at the half-hour starts of every working window that stay
// clear of breaks, each with probability $4. A reference that happens to be taken skips the
// row (ON CONFLICT DO NOTHING), so slightly fewer rows than planned may be written.
const seedSQL = `
WITH starts AS (
	SELECT w.staff_id, w.location_id, d::date AS day, m
	FROM staff_weekly_hours w
	JOIN locations l ON l.id = w.location_id
	CROSS JOIN generate_series($2::date, $3::date, interval '1 day') d
	CROSS JOIN LATERAL generate_series(w.start_minute, w.end_minute - 30, 30) m
	WHERE l.organisation_id = $1 AND w.kind = 'work' AND w.weekday = extract(dow FROM d)
		AND NOT EXISTS (
			SELECT 1 FROM staff_weekly_hours b
			WHERE b.staff_id = w.staff_id AND b.location_id = w.location_id AND b.kind = 'break'
				AND b.weekday = w.weekday AND m < b.end_minute AND m + 30 > b.start_minute)
		AND random() < $4
)
INSERT INTO bookings (organisation_id, reference, location_id, staff_id, status, starts_at, ends_at, blocked, source, confirmed_at)
SELECT $1, 'SET-' || upper(substr(md5(random()::text || clock_timestamp()::text), 1, 6)), s.location_id, s.staff_id,
	'confirmed', t.at, t.at + interval '30 minutes', tstzrange(t.at, t.at + interval '30 minutes'), 'load_test_seed', now()
FROM starts s
JOIN locations l ON l.id = s.location_id
CROSS JOIN LATERAL (SELECT (s.day + make_interval(mins => s.m)) AT TIME ZONE l.time_zone AS at) t
ON CONFLICT DO NOTHING`

// freeCandidates returns the candidates that no active booking overlaps.
func freeCandidates(ctx context.Context, pool *pgxpool.Pool, s *shop) ([]candidate, error) {
	type key struct {
		staff string
		start int64
	}
	taken := map[key]bool{}
	rows, err := pool.Query(ctx, `SELECT staff_id::text, starts_at FROM bookings
		WHERE organisation_id = ANY($1) AND status IN ('held', 'confirmed')`, s.organisationIDs())
	if err != nil {
		return nil, fmt.Errorf("read seeded bookings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var staff string
		var start time.Time
		if err := rows.Scan(&staff, &start); err != nil {
			return nil, fmt.Errorf("read seeded bookings: %w", err)
		}
		taken[key{staff, start.Unix()}] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read seeded bookings: %w", err)
	}

	var free []candidate
	for _, loc := range s.locations() {
		for _, c := range loc.candidates(s.Config.Weeks) {
			if !taken[key{c.Staff.ID.String(), c.Start.Unix()}] {
				free = append(free, c)
			}
		}
	}
	return free, nil
}

// seedBookingsAPI books about the configured fraction of the candidates through POST
// /v1/bookings, eight at a time, and returns how many were created and the candidates left free.
func seedBookingsAPI(ctx context.Context, api *apiClient, s *shop, rng *mrand.Rand) (int, []candidate, error) {
	var chosen, free []candidate
	for _, loc := range s.locations() {
		for _, c := range loc.candidates(s.Config.Weeks) {
			if rng.Float64() < s.Config.Booked {
				chosen = append(chosen, c)
			} else {
				free = append(free, c)
			}
		}
	}

	jobs := make(chan int)
	var created atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				c := chosen[i]
				// Every fourth seed is a 15-minute beard trim where the staff member performs it.
				svc := 0
				if i%4 == 0 && c.Staff.performs(1) {
					svc = 1
				}
				body := bookingBody(c, svc, i)
				r := api.do(ctx, http.MethodPost, "/bookings", c.Loc.Org.Keys[i%len(c.Loc.Org.Keys)], body,
					"Idempotency-Key", fmt.Sprintf("seed-%s-%d", s.RunID, i))
				if r.Err == nil && r.Status == http.StatusCreated {
					created.Add(1)
					continue
				}
				once.Do(func() { firstErr = seedError(r) })
			}
		}()
	}
	for i := range chosen {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return int(created.Load()), nil, firstErr
	}
	return int(created.Load()), free, ctx.Err()
}

func seedError(r apiResponse) error {
	if r.Err != nil {
		return fmt.Errorf("create an existing booking: %w", r.Err)
	}
	return fmt.Errorf("create an existing booking: status %d, body %.300s", r.Status, r.Body)
}

func (s *staffMember) performs(service int) bool {
	for _, j := range s.Services {
		if j == service {
			return true
		}
	}
	return false
}

// bookingRequest is the body of POST /v1/bookings.
type bookingRequest struct {
	LocationSlug string         `json:"location_slug"`
	ServiceIDs   []string       `json:"service_ids"`
	StartsAt     string         `json:"starts_at"`
	StaffID      string         `json:"staff_id"`
	Client       map[string]any `json:"client"`
	Source       string         `json:"source"`
}

// rfc3339Offset writes the offset as ±hh:mm even at UTC, as the API does.
const rfc3339Offset = "2006-01-02T15:04:05-07:00"

// bookingBody books service number svc of the candidate's organisation for one of a thousand
// fictional clients (Ofcom's drama numbers 07700 900000-900999).
func bookingBody(c candidate, svc, clientNumber int) []byte {
	req := bookingRequest{
		LocationSlug: c.Loc.Slug,
		ServiceIDs:   []string{c.Loc.Org.Services[svc].ID.String()},
		StartsAt:     c.Start.Format(rfc3339Offset),
		StaffID:      c.Staff.ID.String(),
		Client: map[string]any{
			"name":  fmt.Sprintf("Load Test Client %03d", clientNumber%1000),
			"phone": fmt.Sprintf("+44770090%04d", clientNumber%1000),
		},
		Source: "load_test_seed",
	}
	body, _ := json.Marshal(req)
	return body
}
