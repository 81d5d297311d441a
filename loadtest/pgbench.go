package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgbenchResult is the JSON output of loadtest pgbench.
type pgbenchResult struct {
	Date      time.Time   `json:"date"`
	Machine   machineInfo `json:"machine"`
	Clients   int         `json:"clients"`
	Threads   int         `json:"threads"`
	Seconds   int         `json:"seconds"`
	Staff     int         `json:"staff"`
	TPS       float64     `json:"tps"`
	LatencyMS float64     `json:"latency_average_ms"`
	Command   string      `json:"command"`
	Script    string      `json:"script"`
	Output    string      `json:"output"`
}

// pgbenchScript inserts one confirmed 30-minute booking per transaction. A sequence numbers
// the rows. The number gives every row its own reference, picks the staff member, and moves
// each staff member's next booking half an hour on, so no insert conflicts. The exclusion
// constraint and every index are still checked and written for each row.
const pgbenchScript = `INSERT INTO bookings (organisation_id, reference, location_id, staff_id, status, starts_at, ends_at, blocked, source)
SELECT '%[1]s', 'SET-' || lpad(upper(to_hex(n)), 6, '0'), '%[2]s', md5('%[3]s-' || (n %% %[4]d))::uuid, 'confirmed',
	t, t + interval '30 minutes', tstzrange(t, t + interval '30 minutes'), 'pgbench'
FROM (SELECT n, timestamptz '2031-01-06 00:00+00' + (n / %[4]d) * interval '30 minutes' AS t
	FROM (SELECT nextval('loadtest_pgbench_seq') AS n) s) q;
`

// pgbenchCommand measures the database's own limit for single-row inserts into bookings on the
// cluster the API uses, with pgbench from the PostgreSQL installation.
func pgbenchCommand(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("pgbench", flag.ContinueOnError)
	databaseURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL of the owner role (default $DATABASE_URL)")
	allowRemote := fs.Bool("allow-remote", false, "allow a database whose host is not a loopback address")
	clients := fs.Int("clients", 16, "concurrent database sessions (pgbench -c)")
	threads := fs.Int("threads", 2, "pgbench worker threads (pgbench -j)")
	seconds := fs.Int("seconds", 15, "how long pgbench runs (at most 600)")
	staff := fs.Int("staff", 100, "staff members the rows are spread over")
	binary := fs.String("pgbench", "", "pgbench binary (default: the newest under /usr/lib/postgresql, else pgbench on PATH)")
	out := fs.String("out", "pgbench.json", "file the JSON result is written to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback("database-url", *databaseURL, *allowRemote); err != nil {
		return err
	}
	if *seconds < 1 || *seconds > 600 || *clients < 1 || *clients > 200 || *staff < 1 || *staff > 10000 {
		return errors.New("-seconds must be 1-600, -clients 1-200 and -staff 1-10000")
	}
	bin, err := findPgbench(*binary)
	if err != nil {
		return err
	}

	pool, err := pgxpool.New(ctx, *databaseURL)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer pool.Close()
	runID, err := randomRunID()
	if err != nil {
		return err
	}
	orgID, locID, err := createPgbenchShop(ctx, pool, runID, *staff)
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "loadtest-pgbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script := fmt.Sprintf(pgbenchScript, orgID, locID, runID, *staff)
	scriptPath := filepath.Join(dir, "insert-booking.sql")
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		return err
	}

	cmdArgs := []string{"-n", "-M", "prepared", "-f", scriptPath, "-c", strconv.Itoa(*clients), "-j", strconv.Itoa(*threads),
		"-T", strconv.Itoa(*seconds), *databaseURL}
	log.Info("pgbench starting", "clients", *clients, "seconds", *seconds, "staff", *staff)
	cmd := exec.CommandContext(ctx, bin, cmdArgs...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgbench failed: %w\n%s", err, output.String())
	}

	res := pgbenchResult{Date: time.Now().UTC(), Machine: describeMachine(), Clients: *clients, Threads: *threads,
		Seconds: *seconds, Staff: *staff, Script: script, Output: output.String(),
		Command: fmt.Sprintf("pgbench -n -M prepared -f insert-booking.sql -c %d -j %d -T %d", *clients, *threads, *seconds)}
	res.TPS, res.LatencyMS, err = parsePgbench(output.String())
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	fmt.Printf("pgbench single-row insert into bookings: %.0f rows/s, average latency %.2f ms (%d clients); %s\n",
		res.TPS, res.LatencyMS, *clients, *out)
	return nil
}

func findPgbench(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench"); len(matches) > 0 {
		// Versions sort as strings up to 99, which covers every release so far.
		return matches[len(matches)-1], nil
	}
	path, err := exec.LookPath("pgbench")
	if err != nil {
		return "", errors.New("pgbench not found; install PostgreSQL's client tools or pass -pgbench")
	}
	return path, nil
}

// createPgbenchShop writes an organisation, a location and staff members whose ids the script
// derives from the run id.
func createPgbenchShop(ctx context.Context, pool *pgxpool.Pool, runID string, staff int) (uuid.UUID, uuid.UUID, error) {
	orgID, locID := uuid.New(), uuid.New()
	_, err := pool.Exec(ctx, `
		WITH org AS (INSERT INTO organisations (id, name, mode) VALUES ($1, 'pgbench '||$3, 'test') RETURNING id),
		loc AS (INSERT INTO locations (id, organisation_id, slug, name, time_zone)
			SELECT $2, id, 'pgbench-'||$3, 'pgbench', 'Europe/London' FROM org RETURNING organisation_id)
		INSERT INTO staff (id, organisation_id, name)
		SELECT md5($3 || '-' || k)::uuid, organisation_id, 'pgbench staff ' || k FROM loc, generate_series(0, $4 - 1) k`,
		orgID, locID, runID, staff)
	if err != nil {
		return orgID, locID, fmt.Errorf("create the pgbench shop: %w", err)
	}
	if _, err := pool.Exec(ctx, `CREATE SEQUENCE IF NOT EXISTS loadtest_pgbench_seq`); err != nil {
		return orgID, locID, fmt.Errorf("create the pgbench sequence: %w", err)
	}
	return orgID, locID, nil
}

var (
	tpsLine     = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	latencyLine = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
)

// parsePgbench reads the throughput and average latency from pgbench's summary.
func parsePgbench(output string) (tps, latencyMS float64, err error) {
	m := tpsLine.FindStringSubmatch(output)
	if m == nil {
		return 0, 0, fmt.Errorf("no tps line in pgbench's output:\n%s", output)
	}
	tps, _ = strconv.ParseFloat(m[1], 64)
	if l := latencyLine.FindStringSubmatch(output); l != nil {
		latencyMS, _ = strconv.ParseFloat(l[1], 64)
	}
	return tps, latencyMS, nil
}
