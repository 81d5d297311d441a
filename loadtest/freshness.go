package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// freshnessTimeout is how long a probe waits for a replica to stop offering a booked slot.
const freshnessTimeout = 5 * time.Second

// freshnessPollGap is the pause between two polls of one replica.
const freshnessPollGap = time.Millisecond

// freshnessProbe measures, for sampled bookings, the time from the 201 until every
// availability replica stops offering the booked slot, polling each replica directly.
type freshnessProbe struct {
	replicas []*apiClient
	every    time.Duration
	limit    int

	mu       sync.Mutex
	last     time.Time
	started  int
	lags     []time.Duration   // per booking: the slowest replica
	replica  [][]time.Duration // per replica
	timeouts int
	// firstPoll counts replica polls whose first response already left the slot out.
	firstPoll, polled int
	wg                sync.WaitGroup
}

func newFreshnessProbe(replicas []*apiClient, every time.Duration, limit int) *freshnessProbe {
	return &freshnessProbe{replicas: replicas, every: every, limit: limit, replica: make([][]time.Duration, len(replicas))}
}

// maybeProbe starts a probe for the booking unless the sample is full or the last probe
// started less than every ago.
func (f *freshnessProbe) maybeProbe(a *attempt) {
	f.mu.Lock()
	if f.started >= f.limit || time.Since(f.last) < f.every {
		f.mu.Unlock()
		return
	}
	f.started++
	f.last = time.Now()
	f.mu.Unlock()

	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.probe(a)
	}()
}

func (f *freshnessProbe) probe(a *attempt) {
	loc := a.Candidate.Loc
	q := url.Values{}
	q.Set("service_ids", loc.Org.Services[0].ID.String())
	q.Set("date", a.Candidate.Start.In(loc.Zone).Format(time.DateOnly))
	q.Set("staff_id", a.StaffID)
	path := "/locations/" + loc.Slug + "/availability?" + q.Encode()
	key := loc.Org.Keys[0]

	lags := make([]time.Duration, len(f.replicas))
	polls := make([]int, len(f.replicas))
	ok := make([]bool, len(f.replicas))
	var wg sync.WaitGroup
	for i, replica := range f.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lags[i], polls[i], ok[i] = pollUntilGone(replica, path, key, a)
		}()
	}
	wg.Wait()

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range polls {
		f.polled++
		if n == 1 {
			f.firstPoll++
		}
	}
	worst := time.Duration(0)
	for i := range lags {
		if !ok[i] {
			f.timeouts++
			return
		}
		f.replica[i] = append(f.replica[i], lags[i])
		worst = max(worst, lags[i])
	}
	f.lags = append(f.lags, worst)
}

// pollUntilGone polls one replica until its response no longer offers the booked slot, and
// returns the time from the booking's 201 to the end of that response and the number of polls.
func pollUntilGone(replica *apiClient, path, key string, a *attempt) (time.Duration, int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), freshnessTimeout)
	defer cancel()
	polls := 0
	for ctx.Err() == nil {
		polls++
		r := replica.do(ctx, http.MethodGet, path, key, nil)
		if r.Err == nil && r.Status == http.StatusOK && !offers(r.Body, a) {
			return r.Done.Sub(a.AnsweredAt), polls, true
		}
		time.Sleep(freshnessPollGap)
	}
	return 0, polls, false
}

// offers reports whether an availability response lists the attempt's start for its staff member.
func offers(body []byte, a *attempt) bool {
	var answer struct {
		Data struct {
			Slots []struct {
				StartsAt time.Time `json:"starts_at"`
				StaffID  string    `json:"staff_id"`
			} `json:"slots"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return true // a response that cannot be decoded does not prove the slot is gone
	}
	for _, s := range answer.Data.Slots {
		if s.StaffID == a.StaffID && s.StartsAt.Equal(a.Candidate.Start) {
			return true
		}
	}
	return false
}

// freshnessResult summarises the probes in milliseconds.
type freshnessResult struct {
	Samples  int `json:"samples"`
	Timeouts int `json:"timeouts"`
	Replicas int `json:"replicas"`
	// FirstPoll of Polled replica polls saw the slot gone in their first response: the
	// replica had evicted it before the client could ask.
	FirstPoll  int              `json:"gone_at_first_poll"`
	Polled     int              `json:"replica_polls"`
	AllMS      latencySummary   `json:"all_replicas_ms"`
	PerReplica []latencySummary `json:"per_replica_ms"`
}

func (f *freshnessProbe) result() freshnessResult {
	if f == nil {
		return freshnessResult{}
	}
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	r := freshnessResult{Samples: len(f.lags), Timeouts: f.timeouts, Replicas: len(f.replicas), AllMS: summarise(slices.Clone(f.lags)),
		FirstPoll: f.firstPoll, Polled: f.polled}
	for _, lags := range f.replica {
		r.PerReplica = append(r.PerReplica, summarise(slices.Clone(lags)))
	}
	return r
}
