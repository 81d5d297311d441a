package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
)

// Files that scripts/bench.sh leaves in the results folder for the report.
const (
	fileAvailabilityBench = "availability-bench.txt"
	fileSlotsBench        = "slots-bench.txt"
	fileBookingsBench     = "bookings-bench.txt"
	fileBookings          = "bookings.json"
	fileRush              = "rush.json"
	fileMixed             = "mixed.json"
	filePgbench           = "pgbench.json"
	fileMemory            = "memory.json"
)

// reportInputs is everything one bench run produced.
type reportInputs struct {
	dir                 string
	availability, slots benchSet
	bookingsBench       benchSet
	// availabilityAt and slotsAt are when the Go benchmark outputs were written.
	availabilityAt, slotsAt time.Time
	// bookingsBenchFailures are the FAIL lines and messages of booking-svc's benchmark.
	bookingsBenchFailures []string
	bookings, rush        *runResult
	mixed                 *runResult
	pgbench               *pgbenchResult
	memory                *memoryResult
	machine               machineInfo
	date                  time.Time
	commit                string
	postgres              string
	loadStart, loadEnd    string
	elapsed               string
	replicas              int
}

func reportCommand(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dir := fs.String("in", "", "folder with the outputs of one scripts/bench.sh run")
	out := fs.String("out", "docs/benchmarks.md", "Markdown file to write")
	commit := fs.String("commit", "", "commit the figures were measured at")
	postgres := fs.String("postgres", "", "PostgreSQL server version")
	loadStart := fs.String("load-start", "", "the machine's load averages when the run began (/proc/loadavg)")
	elapsed := fs.String("elapsed", "", "how long the whole run took")
	replicas := fs.Int("replicas", 3, "availability-svc replicas behind the gateway")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-in is required: the folder scripts/bench.sh wrote its outputs to")
	}
	in := reportInputs{dir: *dir, machine: describeMachine(), date: time.Now().UTC(), commit: *commit, postgres: *postgres,
		loadStart: *loadStart, loadEnd: readLoadAverage(), elapsed: *elapsed, replicas: *replicas}
	var err error
	if in.availability, err = readBenchFile(filepath.Join(*dir, fileAvailabilityBench)); err != nil {
		return err
	}
	if in.slots, err = readBenchFile(filepath.Join(*dir, fileSlotsBench)); err != nil {
		return err
	}
	in.availabilityAt, in.slotsAt = modTime(filepath.Join(*dir, fileAvailabilityBench)), modTime(filepath.Join(*dir, fileSlotsBench))
	if data, readErr := os.ReadFile(filepath.Join(*dir, fileBookingsBench)); readErr == nil {
		in.bookingsBenchFailures = failureLines(string(data))
		// A failed run may hold no results at all; the report then shows the failure alone.
		in.bookingsBench, _ = readBenchFile(filepath.Join(*dir, fileBookingsBench))
	}
	for name, target := range map[string]any{fileBookings: &in.bookings, fileRush: &in.rush, fileMixed: &in.mixed,
		filePgbench: &in.pgbench, fileMemory: &in.memory} {
		if err := readJSON(filepath.Join(*dir, name), target); err != nil {
			return err
		}
	}

	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	defer f.Close()
	writeReport(f, &in)
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	fmt.Println("wrote", *out)
	return nil
}

// failureLines returns the lines of go test output that report a failure.
func failureLines(output string) []string {
	var out []string
	for _, line := range strings.Split(output, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--- FAIL") || strings.Contains(trimmed, "_test.go:") {
			out = append(out, trimmed)
		}
	}
	return out
}

func modTime(path string) time.Time {
	info, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return info.ModTime()
}

// measured names when and on what a row's figure was measured, for the summary table.
func (in *reportInputs) measured(at time.Time) string {
	return fmt.Sprintf("%s, %d cores, %s GiB", at.UTC().Format("2006-01-02 15:04 UTC"), in.machine.Cores,
		num(float64(in.machine.MemoryBytes)/(1<<30), 1))
}

func readJSON(path string, target any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, target); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

func readLoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], " ")
}

// benchSet holds Go benchmark results by name (without the "Benchmark" prefix and the
// GOMAXPROCS suffix): for each unit, every value of the -count runs.
type benchSet map[string]map[string][]float64

func readBenchFile(path string) (benchSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	set := benchSet{}
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		base, parts := res.Name.Parts()
		name := strings.TrimPrefix(string(base), "Benchmark")
		for _, p := range parts {
			if !strings.HasPrefix(string(p), "-") {
				name += string(p)
			}
		}
		if set[name] == nil {
			set[name] = map[string][]float64{}
		}
		for _, v := range res.Values {
			set[name][v.Unit] = append(set[name][v.Unit], v.Value)
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("%s contains no benchmark results; check the go test -bench output in it", path)
	}
	return set, nil
}

// median returns the median of a benchmark's values in unit, or NaN when there are none.
func (s benchSet) median(name, unit string) float64 {
	values := slices.Clone(s[name][unit])
	if len(values) == 0 {
		return math.NaN()
	}
	slices.Sort(values)
	if len(values)%2 == 1 {
		return values[len(values)/2]
	}
	return (values[len(values)/2-1] + values[len(values)/2]) / 2
}

// units lists a benchmark's units, leaving out the ns/op that some benchmarks zero on purpose.
func (s benchSet) units(name string) []string {
	var out []string
	for unit, values := range s[name] {
		if unit == "sec/op" && slices.Max(values) == 0 {
			continue
		}
		out = append(out, unit)
	}
	slices.Sort(out)
	return out
}

func (s benchSet) names() []string {
	out := make([]string, 0, len(s))
	for name := range s {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Goals the figures are compared with.
const (
	goalWarmVsFixed      = 0.7
	goalWarmVsDisabled   = 10
	goalBookingsVsInsert = 0.4
	goalLagP99MS         = 50
	goalFindNS           = 50_000
)

// bookingProfileDate is when the cost breakdown of a booking, which the report quotes as text,
// was measured.
const bookingProfileDate = "2026-12-04"

func verdict(met bool) string {
	if met {
		return "yes"
	}
	return "**no**"
}

func num(x float64, decimals int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return "n/a"
	}
	s := fmt.Sprintf("%.*f", decimals, x)
	// Group thousands with commas for readability.
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

func mib(bytes float64) string { return num(bytes/(1<<20), 1) + " MiB" }

// Commands shown beside the figures; scripts/bench.sh runs exactly these.
const (
	cmdAvailability  = "go test -run '^$' -bench BenchmarkAvailabilityHTTP -benchtime 3s -count 3 ./availability-svc/"
	cmdSlots         = "go test -run '^$' -bench . -benchmem -count 3 ./shared/slots/"
	cmdBookings      = "loadtest run -scenario bookings -rate 0 -concurrency 16 -duration 20s -retry 0 -duplicate 0 -orgs 1 -locations 4 -staff 25 -weeks 8 -booked 0"
	cmdPgbench       = "loadtest pgbench -clients 16 -seconds 15 (pgbench -n -M prepared -c 16 -j 2 -T 15)"
	cmdRush          = "loadtest run -scenario rush -rate 100 -duration 15s -rush-slots 4 -rush-wave 2s"
	cmdMixed         = "loadtest run -scenario mixed -rate 300 -duration 60s -warmup 10s -booking-share 0.05 (gateway, 3 replicas)"
	cmdBookingsBench = "go test -run '^$' -bench . -benchtime 4000x ./booking-svc/bookings/"
	cmdMemory        = "loadtest memory -location-days 10000 -days-per-location 50 -staff 4 -booked 0.4 (a fresh replica)"
)

func writeReport(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	date := in.date.Format("2 January 2006, 15:04 MST")
	p("# Benchmarks\n\n")
	p("Written by `make bench` (scripts/bench.sh, then `loadtest report`) on %s", date)
	if in.commit != "" {
		p(" at commit `%s`", in.commit)
	}
	p(". Machine: %s; %s, %s", in.machine.String(), in.machine.OS, in.machine.GoVersion)
	if in.postgres != "" {
		p(", PostgreSQL %s (a private cluster on 127.0.0.1 with fsync on)", in.postgres)
	}
	p(".\n\n")
	p("Every figure stands beside a baseline measured in the same run on the same machine, because absolute numbers move with whatever else the machine is doing. ")
	p("The load generators (the Go benchmark client, `loadtest`, pgbench) run on the same %d cores as the services and PostgreSQL, so every throughput here is what client and server reach together; a separate client machine would show more.", in.machine.Cores)
	p(" Load average when the run began: %s; when the report was written: %s.", orDash(in.loadStart), orDash(in.loadEnd))
	if in.elapsed != "" {
		p(" The whole run took %s.", in.elapsed)
	}
	p("\n\n")
	if busy, load := machineWasBusy(in.loadStart, in.machine.Cores); busy {
		p("NOTE: the load average was %s on %d cores when this run began, so other work shared the machine and the figures are noisy. Compare the ratios, which move less than the absolute numbers, and rerun `make bench` on a quiet machine before relying on any one figure.\n\n",
			num(load, 1), in.machine.Cores)
	}

	writeSummary(w, in)
	writeAvailability(w, in)
	writeBookings(w, in)
	writeFreshness(w, in)
	writeMemory(w, in)
	writeSlots(w, in)
	writeMixed(w, in)
	writeReproduce(w, in)
}

// machineWasBusy reports whether the one-minute load average in loadAverages (as in
// /proc/loadavg) exceeded half the cores, and returns it.
func machineWasBusy(loadAverages string, cores int) (bool, float64) {
	fields := strings.Fields(loadAverages)
	if len(fields) == 0 {
		return false, 0
	}
	load, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return false, 0
	}
	return load > float64(cores)/2, load
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeSummary(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	a := in.availability
	fixed, warm := a.median("AvailabilityHTTP/fixed-body", "req/s"), a.median("AvailabilityHTTP/cache-warm", "req/s")
	notModified, disabled := a.median("AvailabilityHTTP/cache-warm-304", "req/s"), a.median("AvailabilityHTTP/cache-disabled", "req/s")
	apiRate := bookingRate(in.bookings)
	lagP99 := in.mixed.Cache.InvalidationLagP99MS
	fresh := in.mixed.Verification.Freshness.AllMS
	find := in.slots.median("Find7Days12Staff", "sec/op") * 1e9

	p("## Summary\n\n")
	p("| figure | value | baseline (same run) | ratio | goal | met | measured | command |\n")
	p("| --- | ---: | --- | ---: | --- | --- | --- | --- |\n")
	p("| availability, 7 days, cache warm | %s req/s | Fiber handler returning the same %s bytes: %s req/s | %s | ≥ %.1f | %s | %s | `%s` |\n",
		num(warm, 0), num(a.median("AvailabilityHTTP/cache-warm", "body-bytes"), 0), num(fixed, 0), num(warm/fixed, 2),
		goalWarmVsFixed, verdict(warm/fixed >= goalWarmVsFixed), in.measured(in.availabilityAt), cmdAvailability)
	p("| availability, 7 days, cache disabled | %s req/s | cache warm: %s req/s | warm is %s× | warm ≥ %d× | %s | %s | `%s` |\n",
		num(disabled, 0), num(warm, 0), num(warm/disabled, 1), goalWarmVsDisabled, verdict(warm/disabled >= goalWarmVsDisabled), in.measured(in.availabilityAt), cmdAvailability)
	p("| availability, 7 days, 304 Not Modified | %s req/s | full 200 answers: %s req/s | %s | none set | - | %s | `%s` |\n",
		num(notModified, 0), num(warm, 0), num(notModified/warm, 2), in.measured(in.availabilityAt), cmdAvailability)
	p("| bookings through `POST /v1/bookings` | %s bookings/s (p99 %s ms) | pgbench single-row insert into bookings: %s rows/s | %s | ≥ %.1f | %s | %s | `%s`; `%s` |\n",
		num(apiRate, 0), num(bookingP99(in.bookings), 1), num(in.pgbench.TPS, 0), num(apiRate/in.pgbench.TPS, 2),
		goalBookingsVsInsert, verdict(apiRate/in.pgbench.TPS >= goalBookingsVsInsert), in.measured(in.bookings.StartedAt), cmdBookings, cmdPgbench)
	p("| invalidation lag p99, %d replicas | %s ms (replicas' histogram) | client-side freshness: p50 %s ms, p99 %s ms, max %s ms | %s of the goal | < %d ms | %s | %s | `%s` |\n",
		in.replicas, num(lagP99, 1), num(fresh.P50, 1), num(fresh.P99, 1), num(fresh.Max, 1), num(lagP99/goalLagP99MS, 2),
		goalLagP99MS, verdict(lagP99 >= 0 && lagP99 < goalLagP99MS), in.measured(in.mixed.StartedAt), cmdMixed)
	m := in.memory
	p("| availability-svc resident memory per 1,000 cached location-days | %s | the same replica before filling: %s; after %s location-days: %s | %s× the idle size | reported | - | %s | `%s` |\n",
		mib(m.RSSPerThousand), mib(m.RSSBefore), num(float64(m.CachedDays), 0), mib(m.RSSAfter), num(m.RSSAfter/m.RSSBefore, 2), in.measured(m.Date), cmdMemory)
	p("| slot engine, 7 days, 12 staff, about 60%% booked | %s µs/op, %s allocs/op | the target: 50 µs | %s of the target | < 50 µs | %s | %s | `%s` |\n\n",
		num(find/1000, 1), num(in.slots.median("Find7Days12Staff", "allocs/op"), 0), num(find/goalFindNS, 2), verdict(find < goalFindNS), in.measured(in.slotsAt), cmdSlots)
	p("Figures are medians of three runs for the Go benchmarks, and whole-run figures for `loadtest`. ")
	p("The invalidation goal is judged on the replicas' histogram; the client-side freshness beside it includes one availability request's latency under load (see below). ")
	p("\"Met\" compares with the goals in the performance issues; a **no** is a finding to act on, not a measurement error.\n\n")
}

// bookingRate returns created bookings per second over a bookings run.
func bookingRate(r *runResult) float64 {
	if r == nil || r.Seconds == 0 {
		return math.NaN()
	}
	return float64(r.Verification.Created) / r.Seconds
}

func bookingP99(r *runResult) float64 {
	for _, e := range r.Endpoints {
		if e.Name == endpointNames[epBookingCreate] {
			return e.LatencyMS.P99
		}
	}
	return math.NaN()
}

func writeAvailability(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Availability over HTTP\n\n")
	p("`BenchmarkAvailabilityHTTP` (availability-svc/bench_test.go) stores a London location with 12 staff members, about 60%% booked over the week requested, in a fresh PostgreSQL database. ")
	p("It serves that location with the service's own Fiber app on a loopback port and sends the documented 7-day request for a 30-minute service over %d keep-alive connections from a fasthttp client in the same process. ", 16)
	p("Requests take 64 keys in turn, because one key's rate limit (at most 100,000 a minute) is below what the service answers. ")
	p("The fixed-body baseline is a Fiber handler on the same app setup (request id, access log into io.Discard) that returns the warm response's bytes. ")
	p("The real route adds authentication, rate limiting, the catalogue and day caches, the slot engine, rendering and the ETag. ")
	p("Cache disabled puts `cache.DBReader` in place of the cache, so every request reads the seven days from PostgreSQL.\n\n")
	p("| case | req/s | µs/op (wall time per request across all connections) | B/op | allocs/op |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, name := range in.availability.names() {
		a := in.availability
		p("| %s | %s | %s | %s | %s |\n", strings.TrimPrefix(name, "AvailabilityHTTP/"), num(a.median(name, "req/s"), 0),
			num(a.median(name, "sec/op")*1e6, 1), num(a.median(name, "B/op"), 0), num(a.median(name, "allocs/op"), 0))
	}
	p("\nB/op and allocs/op count the client's and the server's allocations together, per request.")
	fixed, warm := in.availability.median("AvailabilityHTTP/fixed-body", "req/s"), in.availability.median("AvailabilityHTTP/cache-warm", "req/s")
	if warm/fixed < goalWarmVsFixed {
		p(" To see where a warm request's time goes, profile the sub-benchmark: `go test -run '^$' -bench 'AvailabilityHTTP/cache-warm$' -cpuprofile cpu.out ./availability-svc/`, then `go tool pprof -top cpu.out`.")
	}
	p("\n\n")
	p("Command: `%s`\n\n", cmdAvailability)
}

func writeBookings(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	b, rush := in.bookings, in.rush
	p("## Bookings\n\n")
	p("Uncontended: `loadtest run -scenario bookings` books free 30-minute slots spread over 100 staff members at 4 locations through the gateway, 16 workers in the closed model (each sends its next booking when the last is answered), for %s s. ", num(b.Seconds, 1))
	p("Each booking is one transaction in booking-svc: client match or insert, the slot engine's re-check, the idempotency key with its response, the booking and its services, an outbox event and the change notification, then the wait for every availability replica to acknowledge the eviction.\n\n")
	p("| figure | value |\n| --- | ---: |\n")
	p("| created bookings per second through the API | %s |\n", num(bookingRate(b), 1))
	for _, e := range b.Endpoints {
		p("| %s latency p50 / p99 / max | %s / %s / %s ms |\n", e.Name, num(e.LatencyMS.P50, 1), num(e.LatencyMS.P99, 1), num(e.LatencyMS.Max, 1))
	}
	p("| attempts: created / conflicts / unresolved | %d / %d / %d |\n", b.Verification.Created, b.Verification.Conflicts, b.Verification.Unresolved)
	p("| pgbench single-row insert into bookings, 16 clients | %s rows/s, average latency %s ms |\n", num(in.pgbench.TPS, 0), num(in.pgbench.LatencyMS, 2))
	p("| ratio API / pgbench | %s (goal ≥ %.1f) |\n", num(bookingRate(b)/in.pgbench.TPS, 2), goalBookingsVsInsert)
	p("| invalidation lag during this run, p50 / p99 (replicas' histogram) | %s / %s ms |\n\n", num(b.Cache.InvalidationLagP50MS, 1), num(b.Cache.InvalidationLagP99MS, 1))
	p("With a fixed number of workers, throughput is workers divided by latency. booking-svc answers a write only after every live availability replica has acknowledged its eviction, so the invalidation lag above is part of each booking's latency. ")
	p("pgbench's clients wait for nothing but the commit, so the ratio shows the cost of that wait as much as the cost of the transaction.\n\n")
	p("Where a booking's cost goes, from a profile taken on %s rather than from this run. ", bookingProfileDate)
	p("With an Idempotency-Key and without a client, a booking sends 20 statements in 8 round trips with one commit: the API key lookup, the idempotency key lookup, BEGIN, location and services together, the day schedules as one batch of seven queries, the insert batch of six with the idempotency key and its response first, pg_notify and COMMIT. PostgreSQL adds about 8 foreign-key checks. ")
	p("Before the key moved into the booking's transaction, one caller alone cost 1.25 ms of statement execution per booking (pg_stat_statements). With 16 callers on 2 cores, PostgreSQL used 62%% of the CPU, booking-svc 27%% and the benchmark's client 6%%, so 2.6 ms of PostgreSQL CPU went into a booking, where a pgbench insert costs about 0.5 ms of the whole machine. ")
	p("A ratio of 0.4 needs a booking to cost little more than two single-row inserts; the seven schedule queries and the outbox insert are the largest of what remains. ")
	p("To repeat the profile, start booking-svc with `ADMIN_PPROF=true` and read `/debug/pprof/profile` on its admin port during `%s`.\n\n", cmdBookingsBench)
	p("pgbench's script inserts one confirmed row per transaction into the same bookings table, with its exclusion constraint and indexes, on the same cluster, right after the API run:\n\n```sql\n%s```\n\n", in.pgbench.Script)
	if len(in.bookingsBenchFailures) > 0 {
		p("booking-svc's own Go benchmark (`%s`) **failed** in this run; the figures it printed before failing are below. Its output:\n\n```\n%s\n```\n\n",
			cmdBookingsBench, strings.Join(in.bookingsBenchFailures, "\n"))
	}
	if len(in.bookingsBench) > 0 {
		p("booking-svc's own Go benchmark (booking-svc/bookings/bench_test.go) from the same run drives booking-svc alone, without availability replicas to wait for, next to its own pgbench run (`%s`):\n\n", cmdBookingsBench)
		p("| benchmark | figures |\n| --- | --- |\n")
		for _, name := range in.bookingsBench.names() {
			var figures []string
			for _, unit := range in.bookingsBench.units(name) {
				figures = append(figures, num(in.bookingsBench.median(name, unit), 2)+" "+unit)
			}
			p("| %s | %s |\n", name, strings.Join(figures, ", "))
		}
		p("\n")
	}

	p("Contended: `loadtest run -scenario rush` sends %.0f booking attempts a second (open model) at %d slots at a time, with a new set every %s. One attempt in five requests \"any\" staff. ",
		rush.Rate, rush.Scenario.RushSlots, "2 s")
	p("%.0f%% of resolved attempts are sent again with the same Idempotency-Key, and %.0f%% are sent twice at once.\n\n", rush.Scenario.Retry*100, rush.Scenario.Duplicate*100)
	v := rush.Verification
	p("| figure | value |\n| --- | ---: |\n")
	p("| attempts | %d |\n| created (201) | %d |\n| conflicts (409 slot_unavailable) | %d |\n| unresolved | %d |\n", v.Attempts, v.Created, v.Conflicts, v.Unresolved)
	p("| replays / mismatches | %d / %d |\n| concurrent duplicates / mismatches | %d / %d |\n", v.Replays, v.ReplayMismatches, v.Duplicates, v.DuplicateMismatches)
	p("| overlapping pairs / lost bookings | %d / %d |\n", v.OverlappingPairs, v.Lost)
	for _, e := range rush.Endpoints {
		p("| %s p50 / p99 | %s / %s ms |\n", e.Name, num(e.LatencyMS.P50, 1), num(e.LatencyMS.P99, 1))
	}
	p("\nCommands: `%s`; `%s`; `%s`\n\n", cmdBookings, cmdPgbench, cmdRush)
}

func writeFreshness(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	c, f := in.mixed.Cache, in.mixed.Verification.Freshness
	p("## Invalidation lag and freshness\n\n")
	p("During the mixed run (below), with %d availability-svc replicas behind the gateway:\n\n", in.replicas)
	p("- `setora_availability_invalidation_lag_seconds` is the time from a change's commit to its eviction in a replica, read from each replica's admin port before and after the run. It was p50 %s ms and p99 %s ms over %s evictions, and p99 per replica %s ms. These are estimates from the histogram's buckets (1, 2.5, 5, 10, 25, 50 ms and up), interpolated as PromQL's histogram_quantile does.\n",
		num(c.InvalidationLagP50MS, 2), num(c.InvalidationLagP99MS, 2), num(c.InvalidationLagCount, 0), joinNums(c.InvalidationLagP99Replica))
	p("- Freshness from the client's side: for %d sampled bookings, the time from the 201 until every replica, polled directly, stops offering the booked slot: p50 %s ms, p99 %s ms, max %s ms, %d timeouts (5 s). ",
		f.Samples, num(f.AllMS.P50, 2), num(f.AllMS.P99, 2), num(f.AllMS.Max, 2), f.Timeouts)
	if f.Polled > 0 && f.FirstPoll == f.Polled {
		p("The first poll starts as soon as the 201 arrives, and all %d replica polls found the slot gone in that first response, so these figures measure one availability request under load, not a wait for eviction.\n\n", f.Polled)
	} else {
		p("The first poll starts as soon as the 201 arrives; %d of %d replica polls found the slot gone in that first response, and the rest needed more polls.\n\n", f.FirstPoll, f.Polled)
	}
}

func joinNums(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = num(x, 2)
	}
	return strings.Join(parts, ", ")
}

func writeMemory(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	m := in.memory
	p("## Memory\n\n")
	p("`loadtest memory` creates %d locations with %d staff members each (about %.0f%% of half-hour starts booked). It requests %d days of each from a freshly started replica, %s location-days in all. ",
		m.Locations, m.StaffPerLoc, m.Booked*100, m.DaysPerLocation, num(float64(m.LocationDays), 0))
	p("It then requests them again and counts the cache hits to confirm how many were held: %s. ", num(float64(m.CachedDays), 0))
	p("Resident memory (`process_resident_memory_bytes`) went from %s to %s, %s per 1,000 location-days; the Go heap in use (`go_memstats_heap_inuse_bytes`) grew by %s per 1,000. ",
		mib(m.RSSBefore), mib(m.RSSAfter), mib(m.RSSPerThousand), mib(m.HeapPerThousand))
	p("Resident memory includes what the garbage collector has freed but not yet returned, so it is an upper estimate.\n\n")
	p("Command: `%s`\n\n", cmdMemory)
}

func writeSlots(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Slot engine\n\n")
	p("| benchmark | µs/op | B/op | allocs/op | slots/op |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, name := range in.slots.names() {
		s := in.slots
		p("| %s | %s | %s | %s | %s |\n", name, num(s.median(name, "sec/op")*1e6, 2), num(s.median(name, "B/op"), 0),
			num(s.median(name, "allocs/op"), 0), num(s.median(name, "slots/op"), 0))
	}
	p("\nThe target for Find7Days12Staff is under 50 µs, with allocations that do not grow with the number of candidate starts (compare Find7Days12Staff with the 5-minute step of Find7Days12StaffStep5).\n\n")
	p("Command: `%s`\n\n", cmdSlots)
}

func writeMixed(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	r := in.mixed
	p("## Load test: mixed traffic\n\n")
	p("`loadtest run -scenario mixed` runs against the gateway with %s organisations × %d locations × %d staff and %d weeks, %.0f%% of whose half-hour starts were booked beforehand through the API. ",
		num(float64(r.Shop.Organisations), 0), r.Shop.Locations, r.Shop.Staff, r.Shop.Weeks, r.Shop.Booked*100)
	p("It schedules %.0f actions a second for %s s in the open model: each request has an intended start, and latency counts from it, so a stalled server cannot hide the requests it delayed. ", r.Rate, num(r.Seconds, 1))
	p("%.0f%% of actions are booking attempts racing for a few slots. The rest request 1, 3 or 7 days of availability for one or two services, sometimes for one staff member, and half of them send If-None-Match when an ETag is known.\n\n",
		r.Scenario.BookingShare*100)
	p("| endpoint | requests | req/s | errors | p50 ms | p90 ms | p99 ms | max ms | statuses | error codes |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, e := range append(slices.Clone(r.Endpoints), r.Total) {
		p("| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s |\n", e.Name, e.Requests, num(e.Throughput, 1), e.Errors,
			num(e.LatencyMS.P50, 2), num(e.LatencyMS.P90, 2), num(e.LatencyMS.P99, 2), num(e.LatencyMS.Max, 2),
			statusList(e.Statuses), orDash(statusList(e.ErrorCodes)))
	}
	v := r.Verification
	p("\nCache hit ratio %s (%s hits, %s misses, day schedules); %s answers were 304. ",
		num(r.Cache.HitRatio, 3), num(r.Cache.Hits, 0), num(r.Cache.Misses, 0), num(r.Cache.NotModified, 0))
	if r.Schedule.Dropped > 0 || r.Schedule.LateStarts > 0 {
		p("%d actions were dropped and %d started more than 10 ms late because the client's workers were busy. ", r.Schedule.Dropped, r.Schedule.LateStarts)
	}
	status := "passed"
	if !v.Passed {
		status = "**failed**"
	}
	p("Verification %s: %d booking attempts = %d created + %d conflicts (+ %d unresolved); %d overlapping pairs of active bookings; %d lost bookings; %d of %d replays and %d of %d concurrent duplicates disagreed with the original answer.\n\n",
		status, v.Attempts, v.Created, v.Conflicts, v.Unresolved, v.OverlappingPairs, v.Lost, v.ReplayMismatches, v.Replays, v.DuplicateMismatches, v.Duplicates)
	for _, problem := range v.Problems {
		p("- %s\n", problem)
	}
	p("The run's JSON and an HTML page with latency over time are kept beside the other outputs (see below).\n\n")
}

func writeReproduce(w io.Writer, in *reportInputs) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Reproduce\n\n")
	p("```sh\nmake bench\n```\n\n")
	p("scripts/bench.sh starts a private PostgreSQL cluster (127.0.0.1:54361 unless `SETORA_BENCH_PG_PORT` is set) with a fresh database, builds the binaries and runs the Go benchmarks. ")
	p("It then starts booking-svc, three availability-svc replicas and the gateway on 127.0.0.1 ports 18200-18224 (`SETORA_BENCH_PORT_BASE` moves them), runs the `loadtest` commands above, stops everything and writes this page. ")
	p("Every output (benchmark text, JSON, the HTML charts, service logs) stays in the results folder it names at the end, under .local/bench/ by default. It needs about ten minutes on a two-core machine.\n")
}
