package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Series the run reads from the services' admin ports.
const (
	metricCacheHits       = "setora_availability_cache_hits_total"
	metricCacheMisses     = "setora_availability_cache_misses_total"
	metricNotModified     = "setora_availability_not_modified_total"
	metricInvalidationLag = "setora_availability_invalidation_lag_seconds"
	metricRSS             = "process_resident_memory_bytes"
	metricHeapInUse       = "go_memstats_heap_inuse_bytes"
)

// scrape reads a Prometheus text endpoint such as http://127.0.0.1:9081/metrics.
func scrape(ctx context.Context, client *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse metrics of %s: %w", url, err)
	}
	return families, nil
}

// value sums a counter's or gauge's series; a missing family is zero.
func value(families map[string]*dto.MetricFamily, name string) float64 {
	f, ok := families[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}

// bucket is a histogram bucket: the count of observations at most UpperBound seconds.
type bucket struct {
	UpperBound float64
	Count      float64
}

// histogram returns a histogram's cumulative buckets, summed over its series.
func histogram(families map[string]*dto.MetricFamily, name string) []bucket {
	f, ok := families[name]
	if !ok {
		return nil
	}
	sums := map[float64]float64{}
	for _, m := range f.GetMetric() {
		hasInf := false
		for _, b := range m.GetHistogram().GetBucket() {
			sums[b.GetUpperBound()] += float64(b.GetCumulativeCount())
			hasInf = hasInf || math.IsInf(b.GetUpperBound(), 1)
		}
		// The text format lists the +Inf bucket; other sources may leave it to the count.
		if !hasInf {
			sums[math.Inf(1)] += float64(m.GetHistogram().GetSampleCount())
		}
	}
	out := make([]bucket, 0, len(sums))
	for ub, c := range sums {
		out = append(out, bucket{UpperBound: ub, Count: c})
	}
	slices.SortFunc(out, func(a, b bucket) int { return cmpFloat(a.UpperBound, b.UpperBound) })
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// subtractBuckets returns after minus before, bucket by bucket; both must come from one series.
func subtractBuckets(after, before []bucket) []bucket {
	out := slices.Clone(after)
	for i := range out {
		for _, b := range before {
			if b.UpperBound == out[i].UpperBound {
				out[i].Count -= b.Count
			}
		}
	}
	return out
}

// addBuckets adds histograms with the same bounds, such as one per replica.
func addBuckets(a, b []bucket) []bucket {
	if len(a) == 0 {
		return slices.Clone(b)
	}
	out := slices.Clone(a)
	for i := range out {
		for _, x := range b {
			if x.UpperBound == out[i].UpperBound {
				out[i].Count += x.Count
			}
		}
	}
	return out
}

// quantile estimates quantile q (0-1) of cumulative buckets by linear interpolation inside the
// bucket that holds it, as PromQL's histogram_quantile does. A quantile in the +Inf bucket
// returns the highest finite bound. It returns NaN when there are no observations.
func quantile(q float64, buckets []bucket) float64 {
	if len(buckets) == 0 || buckets[len(buckets)-1].Count == 0 {
		return math.NaN()
	}
	total := buckets[len(buckets)-1].Count
	rank := q * total
	lowerBound, lowerCount := 0.0, 0.0
	for _, b := range buckets {
		if b.Count >= rank {
			if math.IsInf(b.UpperBound, 1) {
				return lowerBound
			}
			if b.Count == lowerCount {
				return b.UpperBound
			}
			return lowerBound + (b.UpperBound-lowerBound)*(rank-lowerCount)/(b.Count-lowerCount)
		}
		lowerBound, lowerCount = b.UpperBound, b.Count
	}
	return lowerBound
}

// snapshot is one scrape of every metrics URL, in the order given; a failed scrape is nil.
type snapshot []map[string]*dto.MetricFamily

func takeSnapshot(ctx context.Context, client *http.Client, urls []string) (snapshot, []error) {
	out := make(snapshot, len(urls))
	var errs []error
	for i, u := range urls {
		f, err := scrape(ctx, client, u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[i] = f
	}
	return out, errs
}

// memorySample is one reading of a service's resident memory.
type memorySample struct {
	AtSeconds float64 `json:"at_seconds"`
	URL       string  `json:"metrics_url"`
	RSSBytes  float64 `json:"rss_bytes"`
	HeapBytes float64 `json:"heap_inuse_bytes"`
}

// sampleMemory reads every URL's resident memory each interval until ctx ends.
func sampleMemory(ctx context.Context, client *http.Client, urls []string, start time.Time, every time.Duration) []memorySample {
	var out []memorySample
	read := func(ctx context.Context) {
		for _, u := range urls {
			f, err := scrape(ctx, client, u)
			if err != nil {
				continue
			}
			out = append(out, memorySample{AtSeconds: time.Since(start).Seconds(), URL: u,
				RSSBytes: value(f, metricRSS), HeapBytes: value(f, metricHeapInUse)})
		}
	}
	read(ctx)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			read(context.WithoutCancel(ctx)) // the reading at the end of the run
			return out
		case <-ticker.C:
			read(ctx)
		}
	}
}
