package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/internal/proctest"
	"github.com/setora/rest/shared/dbtest"
)

// bins are the service binaries that TestMain builds once.
var bins proctest.Binaries

func TestMain(m *testing.M) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		fmt.Println("TEST_DATABASE_URL is not set; skipping the load test's smoke run (run `make test`)")
		os.Exit(0)
	}
	os.Exit(proctest.BuildAndRun(&bins, m.Run, proctest.AvailabilitySvc, proctest.BookingSvc, proctest.Gateway))
}

// smokeStack is booking-svc, two availability-svc replicas and the gateway on one fresh
// database.
type smokeStack struct {
	dbURL          string
	gateway        string
	replicas       []string
	replicaMetrics []string
	bookingMetrics string
}

func startSmokeStack(t *testing.T) smokeStack {
	t.Helper()
	s := smokeStack{dbURL: dbtest.New(t)}
	bins.Run(t, "booking-svc", []string{"DATABASE_URL=" + s.dbURL}, "migrate")

	bookPort, bookAdmin := proctest.FreePort(t), proctest.FreePort(t)
	bins.Start(t, "booking-svc", []string{"DATABASE_URL=" + s.dbURL, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", bookPort),
		fmt.Sprintf("ADMIN_ADDR=127.0.0.1:%d", bookAdmin), "SHUTDOWN_DRAIN=0s"},
		fmt.Sprintf("http://127.0.0.1:%d/readyz", bookAdmin), "serve")
	s.bookingMetrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", bookAdmin)

	reader := dbtest.ReaderURL(t, s.dbURL)
	var upstreams string
	for i := range 2 {
		port, admin := proctest.FreePort(t), proctest.FreePort(t)
		bins.Start(t, "availability-svc", []string{"DATABASE_URL=" + reader, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port),
			fmt.Sprintf("ADMIN_ADDR=127.0.0.1:%d", admin), "SHUTDOWN_DRAIN=0s"}, fmt.Sprintf("http://127.0.0.1:%d/readyz", admin))
		s.replicas = append(s.replicas, fmt.Sprintf("http://127.0.0.1:%d/v1", port))
		s.replicaMetrics = append(s.replicaMetrics, fmt.Sprintf("http://127.0.0.1:%d/metrics", admin))
		if i > 0 {
			upstreams += ","
		}
		upstreams += fmt.Sprintf("http://127.0.0.1:%d", port)
	}

	gatewayPort := proctest.FreePort(t)
	s.gateway = fmt.Sprintf("http://127.0.0.1:%d/v1", gatewayPort)
	bins.Start(t, "gateway", nil, s.gateway+"/bookings/none", "-listen", fmt.Sprintf("127.0.0.1:%d", gatewayPort),
		"-availability", upstreams, "-booking", fmt.Sprintf("http://127.0.0.1:%d", bookPort))
	return s
}

// TestSmokeMixed runs the mixed scenario for a few seconds on a small shop against the real
// services and fails when the verification finds a problem.
func TestSmokeMixed(t *testing.T) {
	s := startSmokeStack(t)
	out := filepath.Join(t.TempDir(), "smoke")
	o := runOptions{
		target: s.gateway, databaseURL: s.dbURL, replicas: s.replicas, replicaMetrics: s.replicaMetrics,
		otherMetrics: []string{s.bookingMetrics},
		load:         loadConfig{Rate: 40, Concurrency: 16, Duration: 3 * time.Second, MaxActions: 1000},
		shop: shopConfig{Organisations: 1, Locations: 2, Staff: 3, Weeks: 1, Booked: 0.3, KeysPerOrg: 2,
			Catalogue: "api", Seed: "api"},
		scenario: scenarioConfig{Name: scenarioMixed, BookingShare: 0.3, Conditional: 0.5, RushSlots: 2,
			RushWave: time.Second, Retry: 0.3, Duplicate: 0.2},
		freshnessSamples: 5, freshnessEvery: 100 * time.Millisecond,
		progressEvery: time.Second, memoryEvery: time.Second, out: out, stdout: io.Discard,
	}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	res, err := execute(context.Background(), log, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	v := res.Verification
	if !v.Passed {
		t.Errorf("verification failed: %v", v.Problems)
	}
	if v.Attempts == 0 || v.Created == 0 {
		t.Errorf("attempts = %d, created = %d; want some of each", v.Attempts, v.Created)
	}
	if v.Created+v.Conflicts != v.Attempts {
		t.Errorf("created %d + conflicts %d != attempts %d", v.Created, v.Conflicts, v.Attempts)
	}
	if v.Freshness.Samples == 0 || v.Freshness.Replicas != 2 {
		t.Errorf("freshness samples = %d over %d replicas; want some over 2", v.Freshness.Samples, v.Freshness.Replicas)
	}
	if res.Total.Errors != 0 {
		t.Errorf("errors = %d, statuses %v", res.Total.Errors, res.Total.Statuses)
	}
	if res.Cache.Hits+res.Cache.Misses == 0 {
		t.Error("no cache hits or misses were read from the replicas' metrics")
	}
	if len(res.Memory) == 0 {
		t.Error("no resident-memory readings")
	}
	for _, ext := range []string{".json", ".html"} {
		if info, err := os.Stat(out + ext); err != nil || info.Size() == 0 {
			t.Errorf("result file %s missing or empty: %v", out+ext, err)
		}
	}
}

// TestVerifyReportsProblems checks that verification fails on an overlap and on a 201 whose
// booking is not in the database. The overlap needs the exclusion constraint dropped, which
// only this test's own database allows.
func TestVerifyReportsProblems(t *testing.T) {
	dbURL := dbtest.New(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	cfg := shopConfig{Organisations: 1, Locations: 1, Staff: 1, Weeks: 1, Booked: 0, KeysPerOrg: 1, Catalogue: "sql", Seed: "sql"}
	s, err := newShop(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if err := insertCatalogue(ctx, pool, s.Orgs[0], 1); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap`); err != nil {
		t.Fatal(err)
	}
	loc := s.Orgs[0].Locations[0]
	start := loc.candidates(1)[0].Start
	for i, ref := range []string{"SET-AAAAA1", "SET-AAAAA2"} {
		at := start.Add(time.Duration(i) * 15 * time.Minute)
		_, err := pool.Exec(ctx, `INSERT INTO bookings (organisation_id, reference, location_id, staff_id, status, starts_at, ends_at, blocked, source)
			VALUES ($1, $2, $3, $4, 'confirmed', $5, $6, tstzrange($5, $6), 'load_test')`,
			s.Orgs[0].ID, ref, loc.ID, loc.Staff[0].ID, at, at.Add(30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
	}

	lost := &attempt{Key: "lost", Candidate: candidate{Loc: loc, Staff: loc.Staff[0], Start: start}, StaffAsked: loc.Staff[0].ID.String(),
		Resolved: true, Status: http.StatusCreated, ID: uuid.NewString(), StaffID: loc.Staff[0].ID.String(), Tries: 1}
	v, err := verify(ctx, pool, s, []*attempt{lost}, freshnessResult{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Passed {
		t.Error("verification passed; want it to fail")
	}
	if v.OverlappingPairs != 1 {
		t.Errorf("overlapping pairs = %d, want 1", v.OverlappingPairs)
	}
	if v.Lost != 1 {
		t.Errorf("lost = %d, want 1", v.Lost)
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url         string
		allowRemote bool
		wantErr     bool
	}{
		{url: "http://localhost:8080/v1"},
		{url: "http://127.0.0.1:8080/v1"},
		{url: "http://127.0.0.2:8080/v1"},
		{url: "http://[::1]:8080/v1"},
		{url: "postgres://setora@127.0.0.1:54329/setora"},
		{url: "postgres://setora@/setora?host=/tmp/run"},
		{url: "http://10.0.0.8:8080/v1", wantErr: true},
		{url: "http://api.example.com/v1", wantErr: true},
		{url: "http://169.254.169.254/latest", wantErr: true},
		{url: "postgres://setora@db.example.com/setora", wantErr: true},
		{url: "ftp://127.0.0.1/", wantErr: true},
		{url: "http://api.example.com/v1", allowRemote: true},
	}
	for _, tt := range tests {
		err := checkLoopback("target", tt.url, tt.allowRemote)
		if (err != nil) != tt.wantErr {
			t.Errorf("checkLoopback(%q, allowRemote=%t) error = %v, want error %t", tt.url, tt.allowRemote, err, tt.wantErr)
		}
	}
}

func TestQuantileInterpolates(t *testing.T) {
	buckets := []bucket{{0.001, 10}, {0.005, 90}, {0.01, 100}, {math.Inf(1), 100}}
	if got := quantile(0.5, buckets); got < 0.0029 || got > 0.0031 {
		t.Errorf("p50 = %g, want 0.003 (halfway through the 1-5 ms bucket)", got)
	}
	if got := quantile(0.99, buckets); got < 0.0094 || got > 0.0096 {
		t.Errorf("p99 = %g, want 0.0095", got)
	}
	if got := quantile(0.99, []bucket{{0.001, 0}, {math.Inf(1), 0}}); !math.IsNaN(got) {
		t.Errorf("quantile of no observations = %g, want NaN", got)
	}
}
