package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// attempt is one logical booking request: one Idempotency-Key, however many times it was sent.
type attempt struct {
	Key        string
	Candidate  candidate
	StaffAsked string // a staff id or "any"
	Body       []byte
	Tries      int
	// Resolved is set once a response of 201 or 409 slot_unavailable arrived. Status, Code, ID,
	// StaffID and StartsAt come from that response, or from the last one when none did.
	Resolved   bool
	Status     int
	Code       string
	ID         string
	StaffID    string
	StartsAt   string
	AnsweredAt time.Time
	Replays    []replay
}

// replay is the response to a request sent again with an attempt's key after it was resolved
// (Concurrent false), or at the same moment as its first request (Concurrent true).
type replay struct {
	Status     int
	ID         string
	Code       string
	Replayed   bool
	Concurrent bool
	Transport  string
}

type ledger struct {
	mu       sync.Mutex
	attempts []*attempt
}

func (l *ledger) add(a *attempt) {
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	l.mu.Unlock()
}

func (l *ledger) all() []*attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*attempt(nil), l.attempts...)
}

// verification holds the checks made after the run. Passed is false when any problem was found.
type verification struct {
	Attempts   int `json:"attempts"`
	Created    int `json:"created_201"`
	Conflicts  int `json:"conflicts_409"`
	Unresolved int `json:"unresolved"`
	// OverlappingPairs counts pairs of active bookings of one staff member whose blocked
	// intervals overlap, among the run's organisations.
	OverlappingPairs int `json:"overlapping_pairs"`
	// Lost counts 201 responses whose booking id is not in the database.
	Lost int `json:"lost"`
	// Mismatched counts created bookings whose row has another start, staff member or status
	// than the response stated.
	Mismatched int `json:"mismatched_rows"`
	// Unanswered counts rows the run's attempts created without any client seeing a 201, for
	// example because every answer was lost; informational, not a failure.
	Unanswered int `json:"rows_without_201"`
	// Replays counts requests sent again after their attempt resolved; ReplayMismatches those
	// that did not return the original status and booking id with Idempotent-Replayed: true.
	Replays          int `json:"replays"`
	ReplayMismatches int `json:"replay_mismatches"`
	// Duplicates counts requests sent at the same moment as their attempt's first request with
	// the same key. Each must get 409 idempotency_key_in_use or the attempt's own response.
	Duplicates          int             `json:"concurrent_duplicates"`
	DuplicateMismatches int             `json:"duplicate_mismatches"`
	Freshness           freshnessResult `json:"freshness"`
	Problems            []string        `json:"problems"`
	Passed              bool            `json:"passed"`
}

func (v *verification) problem(format string, args ...any) {
	if len(v.Problems) < 50 {
		v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
	}
}

// verify checks the run's bookings against the database and the answers against each other.
func verify(ctx context.Context, pool *pgxpool.Pool, s *shop, attempts []*attempt, fresh freshnessResult) (verification, error) {
	v := verification{Attempts: len(attempts), Freshness: fresh}
	var ids []string
	byID := map[string]*attempt{}
	for _, a := range attempts {
		switch {
		case a.Resolved && a.Status == http.StatusCreated:
			v.Created++
			ids = append(ids, a.ID)
			if other, seen := byID[a.ID]; seen {
				v.problem("attempts %s and %s both got booking %s", other.Key, a.Key, a.ID)
			}
			byID[a.ID] = a
		case a.Resolved:
			v.Conflicts++
		default:
			v.Unresolved++
			v.problem("attempt %s ended without 201 or 409 after %d tries: status %d %s", a.Key, a.Tries, a.Status, a.Code)
		}
		checkReplays(&v, a)
	}
	if v.Created+v.Conflicts != v.Attempts {
		v.problem("201s (%d) plus 409s (%d) do not add up to the attempts (%d)", v.Created, v.Conflicts, v.Attempts)
	}

	if err := checkRows(ctx, pool, &v, ids, byID); err != nil {
		return v, err
	}
	rows, err := countRunRows(ctx, pool, s)
	if err != nil {
		return v, err
	}
	v.Unanswered = max(rows-v.Created, 0)

	overlaps, err := countOverlaps(ctx, pool, s)
	if err != nil {
		return v, err
	}
	v.OverlappingPairs = overlaps
	if overlaps > 0 {
		v.problem("%d pairs of active bookings of one staff member overlap", overlaps)
	}
	if fresh.Timeouts > 0 {
		v.problem("%d sampled bookings were still offered by a replica %s after their 201", fresh.Timeouts, freshnessTimeout)
	}
	v.Passed = len(v.Problems) == 0
	return v, nil
}

func checkReplays(v *verification, a *attempt) {
	for _, r := range a.Replays {
		if r.Concurrent {
			v.Duplicates++
			inUse := r.Status == http.StatusConflict && r.Code == "idempotency_key_in_use"
			same := a.Resolved && r.Status == a.Status && r.ID == a.ID
			if !inUse && !same && r.Transport == "" {
				v.DuplicateMismatches++
				v.problem("a concurrent duplicate of attempt %s got status %d booking %q, the attempt got %d booking %q",
					a.Key, r.Status, r.ID, a.Status, a.ID)
			}
			continue
		}
		v.Replays++
		if r.Transport != "" {
			continue
		}
		if !r.Replayed || r.Status != a.Status || r.ID != a.ID {
			v.ReplayMismatches++
			v.problem("a replay of attempt %s got status %d booking %q replayed=%t, the original got %d booking %q",
				a.Key, r.Status, r.ID, r.Replayed, a.Status, a.ID)
		}
	}
}

// checkRows looks up every booking a 201 named and compares it with the request and answer.
func checkRows(ctx context.Context, pool *pgxpool.Pool, v *verification, ids []string, byID map[string]*attempt) error {
	found := map[string]bool{}
	for start := 0; start < len(ids); start += 5000 {
		chunk := ids[start:min(start+5000, len(ids))]
		rows, err := pool.Query(ctx, `SELECT id::text, staff_id::text, starts_at, status FROM bookings WHERE id = ANY($1::uuid[])`, chunk)
		if err != nil {
			return fmt.Errorf("read created bookings: %w", err)
		}
		for rows.Next() {
			var id, staff, status string
			var start time.Time
			if err := rows.Scan(&id, &staff, &start, &status); err != nil {
				rows.Close()
				return fmt.Errorf("read created bookings: %w", err)
			}
			found[id] = true
			a := byID[id]
			staffOK := staff == a.StaffID && (a.StaffAsked == "any" || a.StaffAsked == staff)
			if !start.Equal(a.Candidate.Start) || !staffOK || status != "confirmed" {
				v.Mismatched++
				v.problem("booking %s is %s for staff %s at %s; the request asked for %s at %s",
					id, status, staff, start.Format(time.RFC3339), a.StaffAsked, a.Candidate.Start.Format(time.RFC3339))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read created bookings: %w", err)
		}
	}
	for _, id := range ids {
		if !found[id] {
			v.Lost++
			v.problem("booking %s was answered with 201 but is not in the database", id)
		}
	}
	return nil
}

// countOverlaps counts overlapping pairs of active bookings per staff member in the run's
// organisations. The exclusion constraint should make it zero; this checks the outcome, not
// the constraint's presence.
func countOverlaps(ctx context.Context, pool *pgxpool.Pool, s *shop) (int, error) {
	var n int
	err := pool.QueryRow(ctx, `
		SELECT count(*) FROM bookings a
		JOIN bookings b ON b.staff_id = a.staff_id AND b.id > a.id AND b.blocked && a.blocked
		WHERE a.organisation_id = ANY($1) AND b.organisation_id = ANY($1)
			AND a.status IN ('held', 'confirmed', 'completed', 'no_show')
			AND b.status IN ('held', 'confirmed', 'completed', 'no_show')
			AND (a.status <> 'held' OR a.hold_expires_at > now())
			AND (b.status <> 'held' OR b.hold_expires_at > now())`, s.organisationIDs()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count overlapping bookings: %w", err)
	}
	return n, nil
}

// countRunRows counts the bookings the run's attempts created, found by their source.
func countRunRows(ctx context.Context, pool *pgxpool.Pool, s *shop) (int, error) {
	var n int
	err := pool.QueryRow(ctx, `SELECT count(*) FROM bookings WHERE organisation_id = ANY($1) AND source = 'load_test'`,
		s.organisationIDs()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the run's bookings: %w", err)
	}
	return n, nil
}
