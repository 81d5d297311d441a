package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/auth"
)

// insertOrganisation writes an organisation and its keys with SQL: the API has no endpoint for
// either, because organisations and keys are made with booking-svc's keys command.
func insertOrganisation(ctx context.Context, pool *pgxpool.Pool, org *organisation, keys int) error {
	batch := &pgx.Batch{}
	if err := queueOrganisation(batch, org, keys); err != nil {
		return err
	}
	if err := pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("create organisation %s: %w", org.ID, err)
	}
	return nil
}

// queueOrganisation queues the organisation and new keys for it at the highest rate limit.
func queueOrganisation(batch *pgx.Batch, org *organisation, keys int) error {
	batch.Queue(`INSERT INTO organisations (id, name, mode) VALUES ($1, $2, 'test')`, org.ID, org.Name)
	for range keys {
		key, prefix, hash, err := auth.NewKey(auth.ModeTest)
		if err != nil {
			return fmt.Errorf("generate key: %w", err)
		}
		org.Keys = append(org.Keys, key)
		batch.Queue(`INSERT INTO api_keys (organisation_id, prefix, hash, scopes, rate_limit_per_minute, description)
			VALUES ($1, $2, $3, $4, $5, 'load test')`, org.ID, prefix, hash, auth.AllScopes, keyRateLimit)
	}
	return nil
}

// createCatalogueAPI creates the organisation's services, locations, staff, the services they
// perform and their weekly hours through booking-svc's catalogue endpoints, and adopts the ids
// the API returns.
func createCatalogueAPI(ctx context.Context, api *apiClient, org *organisation) error {
	key := org.Keys[0]
	for i := range org.Services {
		svc := &org.Services[i]
		body := map[string]any{"name": svc.Name, "duration_minutes": svc.Minutes, "buffer_before_minutes": svc.BufferBefore,
			"buffer_after_minutes": svc.BufferAfter, "price_minor": svc.PriceMinor, "deposit_minor": svc.DepositMinor, "currency": "GBP"}
		id, err := createResource(ctx, api, key, "/services", body)
		if err != nil {
			return err
		}
		svc.ID = id
	}

	var opening []map[string]string
	for _, day := range weekdayNames {
		opening = append(opening, map[string]string{"weekday": day, "start": "08:00", "end": "20:00"})
	}
	for _, loc := range org.Locations {
		body := map[string]any{"slug": loc.Slug, "name": "Load test " + loc.Slug, "timezone": loc.ZoneName,
			"slot_step_minutes": slotStepMinutes, "min_notice_minutes": minNoticeMinutes,
			"booking_window_days": bookingWindowDays, "opening_hours": opening}
		id, err := createResource(ctx, api, key, "/locations", body)
		if err != nil {
			return err
		}
		loc.ID = id
		for i, st := range loc.Staff {
			if err := createStaffAPI(ctx, api, key, org, loc, i, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// weekdayNames are the API's weekday names, Sunday first as time.Weekday counts.
var weekdayNames = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

func createStaffAPI(ctx context.Context, api *apiClient, key string, org *organisation, loc *location, i int, st *staffMember) error {
	id, err := createResource(ctx, api, key, "/staff", map[string]any{"name": fmt.Sprintf("Staff %d of %s", i+1, loc.Slug)})
	if err != nil {
		return err
	}
	st.ID = id

	var services []string
	for _, j := range st.Services {
		services = append(services, org.Services[j].ID.String())
	}
	path := "/staff/" + id.String() + "/locations/" + loc.Slug
	if err := putResource(ctx, api, key, path+"/services", map[string]any{"service_ids": services}); err != nil {
		return err
	}

	clock := func(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }
	var hours []map[string]any
	for _, day := range weekdayNames[1:] {
		hours = append(hours, map[string]any{"weekday": day, "start": clock(workStart), "end": clock(workEnd),
			"breaks": []map[string]string{{"start": clock(breakStart), "end": clock(breakEnd)}}})
	}
	if st.Sundays {
		hours = append(hours, map[string]any{"weekday": "sunday", "start": clock(sundayFrom), "end": clock(sundayTo)})
	}
	return putResource(ctx, api, key, path+"/weekly_hours", map[string]any{"weekly_hours": hours})
}

// createResource posts body and returns the id of the created resource.
func createResource(ctx context.Context, api *apiClient, key, path string, body any) (uuid.UUID, error) {
	data, _ := json.Marshal(body)
	r := api.do(ctx, http.MethodPost, path, key, data, "Idempotency-Key", uuid.NewString())
	if r.Err != nil {
		return uuid.Nil, fmt.Errorf("POST %s: %w", path, r.Err)
	}
	if r.Status != http.StatusCreated {
		return uuid.Nil, fmt.Errorf("POST %s: status %d, body %.300s", path, r.Status, r.Body)
	}
	var created struct {
		Data struct {
			ID uuid.UUID `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &created); err != nil || created.Data.ID == uuid.Nil {
		return uuid.Nil, fmt.Errorf("POST %s: no id in the response %.300s", path, r.Body)
	}
	return created.Data.ID, nil
}

func putResource(ctx context.Context, api *apiClient, key, path string, body any) error {
	data, _ := json.Marshal(body)
	r := api.do(ctx, http.MethodPut, path, key, data)
	if r.Err != nil {
		return fmt.Errorf("PUT %s: %w", path, r.Err)
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("PUT %s: status %d, body %.300s", path, r.Status, r.Body)
	}
	return nil
}
