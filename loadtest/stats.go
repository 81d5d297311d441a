package main

import (
	"slices"
	"strconv"
	"sync"
	"time"
)

// endpoint names a kind of request in the results.
type endpoint uint8

const (
	epAvailability endpoint = iota
	epAvailabilityConditional
	epBookingCreate
	epBookingRetry
	endpointCount
)

var endpointNames = [endpointCount]string{
	epAvailability:            "availability",
	epAvailabilityConditional: "availability_if_none_match",
	epBookingCreate:           "booking_create",
	epBookingRetry:            "booking_retry",
}

func (e endpoint) isBooking() bool { return e == epBookingCreate || e == epBookingRetry }

// sample is one request's outcome.
type sample struct {
	// At is the request's intended start, counted from the start of the run.
	At time.Duration
	// Latency runs from the intended start to the end of the response, so time spent waiting
	// for a free client worker counts. A slow server cannot hide requests that were never sent.
	Latency  time.Duration
	Endpoint endpoint
	// Status is the HTTP status, or 0 when no response arrived (a transport error or a timeout).
	Status int
	// Failed marks a response the scenario did not expect, such as a 5xx or a 400.
	Failed bool
	// Code is the error code of a 4xx or 5xx response, such as "slot_unavailable".
	Code string
}

// recorder keeps every sample of a run; runs are bounded in requests, so memory is too.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	all   []sample
}

func newRecorder(start time.Time) *recorder { return &recorder{start: start} }

func (r *recorder) add(s sample) {
	r.mu.Lock()
	r.all = append(r.all, s)
	r.mu.Unlock()
}

// since returns a copy of the samples from index i on, and the index to continue from.
func (r *recorder) since(i int) ([]sample, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all[i:]), len(r.all)
}

func (r *recorder) samples() []sample {
	out, _ := r.since(0)
	return out
}

// latencySummary holds percentiles in milliseconds.
type latencySummary struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// summarise returns the percentiles of latencies (nearest rank); it sorts latencies in place.
func summarise(latencies []time.Duration) latencySummary {
	if len(latencies) == 0 {
		return latencySummary{}
	}
	slices.Sort(latencies)
	var total time.Duration
	for _, l := range latencies {
		total += l
	}
	return latencySummary{
		P50:  ms(percentile(latencies, 0.50)),
		P90:  ms(percentile(latencies, 0.90)),
		P99:  ms(percentile(latencies, 0.99)),
		P999: ms(percentile(latencies, 0.999)),
		Max:  ms(latencies[len(latencies)-1]),
		Mean: ms(total / time.Duration(len(latencies))),
	}
}

// percentile returns the nearest-rank percentile q (0-1) of sorted values.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// endpointResult is the summary of one endpoint over a run.
type endpointResult struct {
	Name       string         `json:"name"`
	Requests   int            `json:"requests"`
	Throughput float64        `json:"requests_per_second"`
	Errors     int            `json:"errors"`
	LatencyMS  latencySummary `json:"latency_ms"`
	// Statuses counts responses by HTTP status; "none" counts requests that got no response.
	Statuses map[string]int `json:"statuses"`
	// ErrorCodes counts 4xx and 5xx responses by the error code in their body.
	ErrorCodes map[string]int `json:"error_codes"`
}

func statusLabel(status int) string {
	if status == 0 {
		return "none"
	}
	return strconv.Itoa(status)
}

// summariseEndpoints returns one result per endpoint that was used, and a total.
func summariseEndpoints(samples []sample, elapsed time.Duration) (total endpointResult, perEndpoint []endpointResult) {
	var latencies [endpointCount][]time.Duration
	results := make([]endpointResult, endpointCount)
	for i := range results {
		results[i] = endpointResult{Name: endpointNames[i], Statuses: map[string]int{}, ErrorCodes: map[string]int{}}
	}
	total = endpointResult{Name: "all", Statuses: map[string]int{}, ErrorCodes: map[string]int{}}
	var all []time.Duration
	for _, s := range samples {
		r := &results[s.Endpoint]
		r.Requests++
		r.Statuses[statusLabel(s.Status)]++
		total.Statuses[statusLabel(s.Status)]++
		if s.Code != "" {
			r.ErrorCodes[s.Code]++
			total.ErrorCodes[s.Code]++
		}
		if s.Failed {
			r.Errors++
			total.Errors++
		}
		latencies[s.Endpoint] = append(latencies[s.Endpoint], s.Latency)
		all = append(all, s.Latency)
	}
	seconds := elapsed.Seconds()
	for i := range results {
		if results[i].Requests == 0 {
			continue
		}
		results[i].LatencyMS = summarise(latencies[i])
		results[i].Throughput = float64(results[i].Requests) / seconds
		perEndpoint = append(perEndpoint, results[i])
	}
	total.Requests = len(samples)
	total.Throughput = float64(len(samples)) / seconds
	total.LatencyMS = summarise(all)
	return total, perEndpoint
}

// timelinePoint summarises one second of a run, by intended start.
type timelinePoint struct {
	Second              int     `json:"second"`
	Requests            int     `json:"requests"`
	Errors              int     `json:"errors"`
	AvailabilityP50MS   float64 `json:"availability_p50_ms"`
	AvailabilityP99MS   float64 `json:"availability_p99_ms"`
	BookingP50MS        float64 `json:"booking_p50_ms"`
	BookingP99MS        float64 `json:"booking_p99_ms"`
	AvailabilityAnswers int     `json:"availability_requests"`
	BookingAnswers      int     `json:"booking_requests"`
}

func timeline(samples []sample) []timelinePoint {
	if len(samples) == 0 {
		return nil
	}
	last := 0
	for _, s := range samples {
		last = max(last, int(s.At/time.Second))
	}
	type bucket struct {
		requests, errors int
		avail, book      []time.Duration
	}
	buckets := make([]bucket, last+1)
	for _, s := range samples {
		b := &buckets[int(s.At/time.Second)]
		b.requests++
		if s.Failed {
			b.errors++
		}
		if s.Endpoint.isBooking() {
			b.book = append(b.book, s.Latency)
		} else {
			b.avail = append(b.avail, s.Latency)
		}
	}
	out := make([]timelinePoint, len(buckets))
	for i, b := range buckets {
		slices.Sort(b.avail)
		slices.Sort(b.book)
		out[i] = timelinePoint{
			Second: i, Requests: b.requests, Errors: b.errors,
			AvailabilityP50MS: ms(percentile(b.avail, 0.5)), AvailabilityP99MS: ms(percentile(b.avail, 0.99)),
			BookingP50MS: ms(percentile(b.book, 0.5)), BookingP99MS: ms(percentile(b.book, 0.99)),
			AvailabilityAnswers: len(b.avail), BookingAnswers: len(b.book),
		}
	}
	return out
}
