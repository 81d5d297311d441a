package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Scenarios a run can drive.
const (
	scenarioPolling  = "polling"
	scenarioRush     = "rush"
	scenarioMixed    = "mixed"
	scenarioSoak     = "soak"
	scenarioBookings = "bookings"
)

// scenarioConfig tunes the mix of requests.
type scenarioConfig struct {
	Name string `json:"name"`
	// BookingShare is the fraction of mixed and soak actions that are booking attempts.
	BookingShare float64 `json:"booking_share"`
	// Conditional is the fraction of availability requests that send If-None-Match with the
	// ETag of the last response to the same query, when there is one.
	Conditional float64 `json:"conditional_share"`
	// RushSlots is how many slots the crowd races for at a time, and RushWave how long until
	// the next set of slots goes on offer.
	RushSlots int           `json:"rush_slots"`
	RushWave  time.Duration `json:"-"`
	// Retry is the fraction of resolved booking attempts sent again with the same
	// Idempotency-Key, as a client does after a lost response; Duplicate is the fraction sent
	// twice at the same moment.
	Retry     float64 `json:"retry_share"`
	Duplicate float64 `json:"duplicate_share"`
}

// scenario holds what the actions share during a run.
type scenario struct {
	cfg       scenarioConfig
	shop      *shop
	weeks     int
	api       *apiClient
	rec       *recorder
	ledger    *ledger
	freshness *freshnessProbe

	etags sync.Map // query URL -> last ETag

	mu       sync.Mutex
	free     []candidate
	hot      []candidate
	hotUntil time.Time
	locs     []*location
}

// next returns the action to schedule next.
func (sc *scenario) next() action {
	switch sc.cfg.Name {
	case scenarioPolling:
		return sc.poll
	case scenarioRush:
		return sc.rush
	case scenarioBookings:
		return sc.bookFree
	default: // mixed and soak
		if rand.Float64() < sc.cfg.BookingShare {
			return sc.rush
		}
		return sc.poll
	}
}

// pickLocation favours the first locations, as real traffic favours popular shops: location i
// is chosen about 1/(i+1) as often as the first.
func (sc *scenario) pickLocation() *location {
	weights := 0.0
	for i := range sc.locs {
		weights += 1 / float64(i+1)
	}
	x := rand.Float64() * weights
	for i, l := range sc.locs {
		x -= 1 / float64(i+1)
		if x <= 0 {
			return l
		}
	}
	return sc.locs[len(sc.locs)-1]
}

// availabilityQuery picks what an AI agent or a portal visitor requests. That is mostly one
// service over a day or a week, sometimes two services together or one staff member. Dates run
// from the day after tomorrow to the run's last week, sooner dates more often.
func (sc *scenario) availabilityQuery() (*location, string) {
	loc := sc.pickLocation()
	services := loc.Org.Services
	q := url.Values{}
	switch x := rand.IntN(100); {
	case x < 50:
		q.Set("service_ids", services[0].ID.String())
	case x < 62:
		q.Set("service_ids", services[1].ID.String())
	case x < 72:
		q.Set("service_ids", services[2].ID.String())
	case x < 82:
		q.Set("service_ids", services[3].ID.String())
	case x < 92:
		q.Set("service_ids", services[0].ID.String()+","+services[1].ID.String())
	default:
		q.Set("service_ids", services[0].ID.String())
		q.Set("staff_id", loc.Staff[rand.IntN(len(loc.Staff))].ID.String())
	}
	days := 7
	switch x := rand.IntN(100); {
	case x < 35:
		days = 1
	case x < 50:
		days = 3
	}
	span := max(sc.weeks*7-days, 0)
	offset := min(rand.IntN(span+1), rand.IntN(span+1))
	q.Set("date", loc.firstDay().AddDate(0, 0, offset).Format(time.DateOnly))
	q.Set("days", strconv.Itoa(days))
	return loc, "/locations/" + loc.Slug + "/availability?" + q.Encode()
}

func (sc *scenario) poll(ctx context.Context, intended time.Time) {
	loc, path := sc.availabilityQuery()
	ep := epAvailability
	var headers []string
	if rand.Float64() < sc.cfg.Conditional {
		if etag, ok := sc.etags.Load(path); ok {
			ep = epAvailabilityConditional
			headers = []string{"If-None-Match", etag.(string)}
		}
	}
	r := sc.api.do(ctx, http.MethodGet, path, sc.key(loc), nil, headers...)
	ok := r.Err == nil && (r.Status == http.StatusOK || (ep == epAvailabilityConditional && r.Status == http.StatusNotModified))
	sc.record(intended, r, ep, ok)
	if r.Err == nil && r.Status == http.StatusOK {
		if etag := r.Header.Get("ETag"); etag != "" {
			sc.etags.Store(path, etag)
		}
	}
}

func (sc *scenario) key(loc *location) string {
	keys := loc.Org.Keys
	return keys[rand.IntN(len(keys))]
}

func (sc *scenario) record(intended time.Time, r apiResponse, ep endpoint, ok bool) {
	s := sample{At: intended.Sub(sc.rec.start), Latency: r.Done.Sub(intended), Endpoint: ep, Status: r.Status, Failed: !ok}
	if r.Err == nil && r.Status >= 400 {
		s.Code = parseBookingAnswer(r.Body).Error.Code
	}
	sc.rec.add(s)
}

// popFree takes a free candidate that no other action of this run will use.
func (sc *scenario) popFree() (candidate, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.free) == 0 {
		return candidate{}, false
	}
	c := sc.free[len(sc.free)-1]
	sc.free = sc.free[:len(sc.free)-1]
	return c, true
}

// hotSlot returns one of the slots the crowd is racing for, putting new ones on offer every
// RushWave.
func (sc *scenario) hotSlot() (candidate, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if time.Now().After(sc.hotUntil) || len(sc.hot) == 0 {
		n := min(sc.cfg.RushSlots, len(sc.free))
		if n > 0 {
			sc.hot = append(sc.hot[:0], sc.free[len(sc.free)-n:]...)
			sc.free = sc.free[:len(sc.free)-n]
		}
		sc.hotUntil = time.Now().Add(sc.cfg.RushWave)
	}
	if len(sc.hot) == 0 {
		return candidate{}, false
	}
	return sc.hot[rand.IntN(len(sc.hot))], true
}

// rush books one of the hot slots; one attempt in five requests any staff member instead of the
// slot's own.
func (sc *scenario) rush(ctx context.Context, intended time.Time) {
	c, ok := sc.hotSlot()
	if !ok {
		sc.poll(ctx, intended)
		return
	}
	staff := c.Staff.ID.String()
	if rand.IntN(5) == 0 {
		staff = "any"
	}
	sc.book(ctx, intended, c, staff)
}

// bookFree books a slot that no other action of the run requests, so conflicts come only from the server.
func (sc *scenario) bookFree(ctx context.Context, intended time.Time) {
	c, ok := sc.popFree()
	if !ok {
		return
	}
	sc.book(ctx, intended, c, c.Staff.ID.String())
}

// bookingAnswer holds the fields the load reads from a booking response.
type bookingAnswer struct {
	Data struct {
		ID       string `json:"id"`
		StaffID  string `json:"staff_id"`
		StartsAt string `json:"starts_at"`
	} `json:"data"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

func parseBookingAnswer(body []byte) bookingAnswer {
	var a bookingAnswer
	_ = json.Unmarshal(body, &a)
	return a
}

// maxBookingTries bounds the requests of one attempt whose responses were lost or retryable.
const maxBookingTries = 6

// maxRetryAfter caps the wait a Retry-After header may ask for, so that runs stay bounded.
const maxRetryAfter = 2 * time.Second

// retryDelay honours the response's Retry-After in whole seconds (booking-svc sends 1 with
// idempotency_key_in_use), and otherwise backs off by 50 ms per try.
func retryDelay(r apiResponse, try int) time.Duration {
	if r.Err == nil {
		if seconds, err := strconv.Atoi(r.Header.Get("Retry-After")); err == nil && seconds >= 0 {
			return min(time.Duration(seconds)*time.Second, maxRetryAfter)
		}
	}
	return time.Duration(try) * 50 * time.Millisecond
}

// book makes one booking attempt with its own Idempotency-Key. Lost responses, 5xx, 429 and
// "key in use" are retried with the same key. A resolved attempt may be sent again to check
// that the replay returns the same booking.
func (sc *scenario) book(ctx context.Context, intended time.Time, c candidate, staff string) {
	a := &attempt{
		Key:        uuid.NewString(),
		Candidate:  c,
		StaffAsked: staff,
		Body:       bookingBodyForStaff(c, staff),
	}
	orgKey := sc.key(c.Loc)

	var duplicate chan replay
	if rand.Float64() < sc.cfg.Duplicate {
		duplicate = make(chan replay, 1)
		go func() {
			r := sc.api.do(ctx, http.MethodPost, "/bookings", orgKey, a.Body, "Idempotency-Key", a.Key)
			sc.record(r.Sent, r, epBookingRetry, r.Err == nil && r.Status < 500)
			duplicate <- replayOf(r, true)
		}()
	}

	sent := intended
	for try := 1; try <= maxBookingTries; try++ {
		r := sc.api.do(ctx, http.MethodPost, "/bookings", orgKey, a.Body, "Idempotency-Key", a.Key)
		answer := parseBookingAnswer(r.Body)
		ep := epBookingCreate
		if try > 1 {
			ep = epBookingRetry
		}
		final := r.Err == nil && (r.Status == http.StatusCreated ||
			(r.Status == http.StatusConflict && answer.Error.Code == "slot_unavailable"))
		retryable := r.Err != nil || r.Status >= 500 || r.Status == http.StatusTooManyRequests ||
			(r.Status == http.StatusConflict && answer.Error.Code == "idempotency_key_in_use")
		sc.record(sent, r, ep, r.Err == nil && (r.Status == http.StatusCreated || r.Status == http.StatusConflict))
		a.Tries = try
		if final || !retryable {
			a.Status, a.Code, a.ID, a.StaffID, a.StartsAt = r.Status, answer.Error.Code, answer.Data.ID, answer.Data.StaffID, answer.Data.StartsAt
			a.Resolved = final
			a.AnsweredAt = r.Done
			break
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(retryDelay(r, try))
		sent = time.Now()
	}

	if a.Resolved && rand.Float64() < sc.cfg.Retry {
		r := sc.api.do(ctx, http.MethodPost, "/bookings", orgKey, a.Body, "Idempotency-Key", a.Key)
		sc.record(r.Sent, r, epBookingRetry, r.Err == nil && r.Status < 500)
		a.Replays = append(a.Replays, replayOf(r, false))
	}
	if duplicate != nil {
		a.Replays = append(a.Replays, <-duplicate)
	}
	sc.ledger.add(a)

	if a.Resolved && a.Status == http.StatusCreated && sc.freshness != nil {
		sc.freshness.maybeProbe(a)
	}
}

func replayOf(r apiResponse, concurrent bool) replay {
	answer := parseBookingAnswer(r.Body)
	rp := replay{Status: r.Status, ID: answer.Data.ID, Code: answer.Error.Code, Concurrent: concurrent}
	if r.Err != nil {
		rp.Transport = r.Err.Error()
	} else {
		rp.Replayed = r.Header.Get("Idempotent-Replayed") == "true"
	}
	return rp
}

// bookingBodyForStaff books the first service at the candidate's start with staff, a staff id or
// "any".
func bookingBodyForStaff(c candidate, staff string) []byte {
	req := bookingRequest{
		LocationSlug: c.Loc.Slug,
		ServiceIDs:   []string{c.Loc.Org.Services[0].ID.String()},
		StartsAt:     c.Start.Format(rfc3339Offset),
		StaffID:      staff,
		Client: map[string]any{
			"name":  "Load Test Rush Client",
			"phone": fmt.Sprintf("+44770090%04d", rand.IntN(1000)),
		},
		Source: "load_test",
	}
	body, _ := json.Marshal(req)
	return body
}
