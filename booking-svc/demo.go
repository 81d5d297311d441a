package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/db"
)

// The demo shop's fixed ids; the service and the first two staff ids are the ones the public
// overview page shows.
var (
	demoOrganisationID = uuid.MustParse("0d3e5f7a-2b4c-4d6e-8f10-3a5b7c9d1e2f")
	demoLocationID     = uuid.MustParse("5a0b1c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d")
	demoClassicCut     = uuid.MustParse("2a7c9e34-58b1-41f6-8d92-6e4a3b0c7d15")
	demoBeardTrim      = uuid.MustParse("3b8d0f45-69c2-42a7-9ea3-7f5b4c1d8e26")
	demoSkinFade       = uuid.MustParse("4c9e1a56-7ad3-43b8-8fb4-805c5d2e9f37")
	demoMarcus         = uuid.MustParse("9b3e7d2c-4a1f-48e6-bc52-7f0a9d3b1e84")
	demoPriya          = uuid.MustParse("c1d4f8a2-6e3b-49d7-a085-2b8c5f1e7d39")
	demoTom            = uuid.MustParse("d2e5a9b3-7f4c-4ae8-b196-3c9d6f2a8e4a")
)

func demo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	keyFile := fs.String("key-file", "", "file that keeps the demo key between runs; a valid key there is reused")
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, err := databaseURL()
	if err != nil {
		return err
	}
	pool, err := db.Connect(ctx, url, 2)
	if err != nil {
		return err
	}
	defer pool.Close()

	if err := loadDemoShop(ctx, pool); err != nil {
		return err
	}
	key, err := demoKey(ctx, pool, *keyFile)
	if err != nil {
		return err
	}
	fmt.Println(key)
	return nil
}

// minute converts a wall-clock time such as 9, 30 to minutes since midnight.
func minute(hour, min int) int { return hour*60 + min }

type demoHours struct {
	weekdays             []int // 0 is Sunday
	start, end           int
	breakStart, breakEnd int
}

// loadDemoShop inserts the demo organisation, its Soho location, three services and three
// staff. It leaves rows that already exist alone, so a second run keeps any changes.
func loadDemoShop(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1)`, demoOrganisationID).Scan(&exists); err != nil {
			return fmt.Errorf("check demo organisation: %w", err)
		}
		if exists {
			return nil
		}

		exec := func(sql string, args ...any) error {
			if _, err := tx.Exec(ctx, sql, args...); err != nil {
				return fmt.Errorf("load demo shop: %w", err)
			}
			return nil
		}
		if err := exec(`INSERT INTO organisations (id, name, mode) VALUES ($1, 'Setora Demo Barbers', 'test')`, demoOrganisationID); err != nil {
			return err
		}
		if err := exec(`INSERT INTO locations (id, organisation_id, slug, name, time_zone, slot_step_minutes,
				min_notice_minutes, booking_window_days)
			VALUES ($1, $2, 'soho', 'Setora Demo Barbers, Soho', 'Europe/London', 30, 60, 60)`, demoLocationID, demoOrganisationID); err != nil {
			return err
		}
		opening := []struct{ weekday, start, end int }{
			{0, minute(10, 0), minute(16, 0)},
			{1, minute(9, 0), minute(19, 0)}, {2, minute(9, 0), minute(19, 0)}, {3, minute(9, 0), minute(19, 0)},
			{4, minute(9, 0), minute(20, 0)}, {5, minute(9, 0), minute(19, 0)}, {6, minute(9, 0), minute(18, 0)},
		}
		for _, o := range opening {
			if err := exec(`INSERT INTO location_opening_hours (location_id, weekday, start_minute, end_minute)
				VALUES ($1, $2, $3, $4)`, demoLocationID, o.weekday, o.start, o.end); err != nil {
				return err
			}
		}

		services := []struct {
			id              uuid.UUID
			name            string
			duration, after int
			price, deposit  int64
		}{
			{demoClassicCut, "Classic cut", 30, 0, 2800, 0},
			{demoBeardTrim, "Beard trim", 15, 0, 1200, 0},
			{demoSkinFade, "Skin fade", 45, 15, 3200, 1000},
		}
		for _, s := range services {
			if err := exec(`INSERT INTO services (id, organisation_id, name, duration_minutes, buffer_after_minutes,
					price_minor, deposit_minor, currency) VALUES ($1, $2, $3, $4, $5, $6, $7, 'GBP')`,
				s.id, demoOrganisationID, s.name, s.duration, s.after, s.price, s.deposit); err != nil {
				return err
			}
		}

		staff := []struct {
			id       uuid.UUID
			name     string
			services []uuid.UUID
			hours    []demoHours
		}{
			{demoMarcus, "Marcus", []uuid.UUID{demoClassicCut, demoBeardTrim, demoSkinFade},
				[]demoHours{{[]int{1, 2, 3, 4, 5}, minute(9, 0), minute(17, 30), minute(13, 0), minute(13, 30)}}},
			{demoPriya, "Priya", []uuid.UUID{demoClassicCut, demoSkinFade},
				[]demoHours{{[]int{2, 3, 4, 5, 6}, minute(9, 0), minute(18, 0), minute(12, 30), minute(13, 0)}}},
			{demoTom, "Tom", []uuid.UUID{demoClassicCut, demoBeardTrim},
				[]demoHours{
					{[]int{3, 4, 5, 6}, minute(10, 0), minute(19, 0), minute(14, 0), minute(14, 30)},
					{[]int{0}, minute(10, 0), minute(16, 0), minute(13, 0), minute(13, 30)},
				}},
		}
		for _, st := range staff {
			if err := exec(`INSERT INTO staff (id, organisation_id, name) VALUES ($1, $2, $3)`, st.id, demoOrganisationID, st.name); err != nil {
				return err
			}
			for _, service := range st.services {
				if err := exec(`INSERT INTO staff_services (organisation_id, staff_id, service_id, location_id)
					VALUES ($1, $2, $3, $4)`, demoOrganisationID, st.id, service, demoLocationID); err != nil {
					return err
				}
			}
			for _, h := range st.hours {
				for _, day := range h.weekdays {
					if err := exec(`INSERT INTO staff_weekly_hours (staff_id, location_id, weekday, kind, start_minute, end_minute)
						VALUES ($1, $2, $3, 'work', $4, $5), ($1, $2, $3, 'break', $6, $7)`,
						st.id, demoLocationID, day, h.start, h.end, h.breakStart, h.breakEnd); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// demoKey returns the key kept in keyFile while it is still valid, or creates one with every
// scope and keeps it there.
func demoKey(ctx context.Context, pool *pgxpool.Pool, keyFile string) (string, error) {
	if keyFile != "" {
		data, err := os.ReadFile(keyFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read demo key file: %w", err)
		}
		key := strings.TrimSpace(string(data))
		if key != "" && auth.CheckShape(key) == nil {
			var valid bool
			err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE hash = $1 AND revoked_at IS NULL
				AND organisation_id = $2)`, auth.Hash(key), demoOrganisationID).Scan(&valid)
			if err != nil {
				return "", fmt.Errorf("check demo key: %w", err)
			}
			if valid {
				return key, nil
			}
		}
	}

	key, err := createKey(ctx, pool, demoOrganisationID, auth.AllScopes, 120, "demo key made by make run")
	if err != nil {
		return "", err
	}
	if keyFile != "" {
		if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("keep demo key: %w", err)
		}
	}
	return key, nil
}
