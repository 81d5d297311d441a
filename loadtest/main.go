// Command loadtest drives a running Setora stack with bounded, open-model load, checks
// afterwards that nothing went wrong, and measures the figures that docs/benchmarks.md reports.
//
//	loadtest run      set up a shop, run a scenario (polling, rush, mixed, soak, bookings),
//	                  verify, and write a table, a JSON file and an HTML chart
//	loadtest memory   fill one availability-svc replica with cached location-days and report
//	                  its resident memory per 1,000 of them
//	loadtest pgbench  run pgbench's single-row insert into bookings on the same cluster
//	loadtest report   write docs/benchmarks.md from the outputs of the commands above
//
// Every URL it is given must point at a loopback address unless -allow-remote is set.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // zones resolve without the operating system's files
)

const usage = `usage: loadtest <command> [flags]

commands:
  run       set up a shop, run a scenario, verify the outcome and write reports
  memory    measure availability-svc's resident memory per 1,000 cached location-days
  pgbench   measure pgbench's single-row insert into bookings (the database's limit)
  report    write the benchmark report from the outputs of the commands above

Run 'loadtest <command> -h' for a command's flags.
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	command, args := os.Args[1], os.Args[2:]
	var err error
	switch command {
	case "run":
		err = runCommand(ctx, log, args)
	case "memory":
		err = memoryCommand(ctx, log, args)
	case "pgbench":
		err = pgbenchCommand(ctx, log, args)
	case "report":
		err = reportCommand(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", command, usage)
		os.Exit(2)
	}
	if err != nil {
		log.Error("loadtest "+command+" failed", "error", err.Error())
		os.Exit(1)
	}
}
