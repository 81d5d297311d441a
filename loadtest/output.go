package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
)

// writeResults writes prefix.json and prefix.html.
func writeResults(prefix string, res *runResult) error {
	if dir := filepath.Dir(prefix); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create results folder: %w", err)
		}
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(prefix+".json", append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	f, err := os.Create(prefix + ".html")
	if err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	defer f.Close()
	if err := writeHTML(f, res); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	return f.Close()
}

// printTable writes the human summary of a run.
func printTable(w io.Writer, res *runResult) {
	fmt.Fprintf(w, "\nscenario %s, %.1fs, target rate %.0f/s, concurrency %d, run %s\n",
		res.Scenario.Name, res.Seconds, res.Rate, res.Concurrency, res.RunID)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\trequests\treq/s\terrors\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tstatuses\terror codes\t")
	for _, e := range append(slices.Clone(res.Endpoints), res.Total) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t\n", e.Name, e.Requests, e.Throughput, e.Errors,
			e.LatencyMS.P50, e.LatencyMS.P90, e.LatencyMS.P99, e.LatencyMS.P999, e.LatencyMS.Max, statusList(e.Statuses), statusList(e.ErrorCodes))
	}
	tw.Flush()

	c := res.Cache
	fmt.Fprintf(w, "cache: hit ratio %.3f (%.0f hits, %.0f misses), %.0f answers 304; invalidation lag p50 %.2fms p99 %.2fms over %.0f evictions\n",
		c.HitRatio, c.Hits, c.Misses, c.NotModified, c.InvalidationLagP50MS, c.InvalidationLagP99MS, c.InvalidationLagCount)
	v := res.Verification
	fmt.Fprintf(w, "bookings: %d attempts = %d created (201) + %d conflicts (409) + %d unresolved; %d replays, %d concurrent duplicates\n",
		v.Attempts, v.Created, v.Conflicts, v.Unresolved, v.Replays, v.Duplicates)
	f := v.Freshness
	fmt.Fprintf(w, "freshness over %d replicas, %d samples: p50 %.2fms p99 %.2fms max %.2fms, %d timeouts; %d of %d polls saw the slot gone at once\n",
		f.Replicas, f.Samples, f.AllMS.P50, f.AllMS.P99, f.AllMS.Max, f.Timeouts, f.FirstPoll, f.Polled)
	if d := res.Drift; d != nil {
		fmt.Fprintf(w, "drift: p99 %.2fms in the first tenth, %.2fms in the last; resident memory %+.1f%%\n", d.FirstP99MS, d.LastP99MS, d.RSSGrowthPct)
	}
	for _, warning := range res.Warnings {
		fmt.Fprintln(w, "warning:", warning)
	}
	status := "PASSED"
	if !v.Passed {
		status = "FAILED"
	}
	fmt.Fprintf(w, "verification %s: %d overlapping pairs, %d lost, %d mismatched rows, %d replay mismatches, %d duplicate mismatches, %d rows without a 201\n",
		status, v.OverlappingPairs, v.Lost, v.Mismatched, v.ReplayMismatches, v.DuplicateMismatches, v.Unanswered)
	for _, p := range v.Problems {
		fmt.Fprintln(w, "  problem:", p)
	}
}

func statusList(statuses map[string]int) string {
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s:%d", k, statuses[k])
	}
	return out
}
