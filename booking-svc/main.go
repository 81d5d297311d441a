// Command booking-svc commits bookings, holds and schedule changes in PostgreSQL and notifies
// every availability-svc replica of what changed. Besides serving it migrates the database,
// loads the demo shop and manages API keys.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // zones resolve without the operating system's files

	"github.com/setora/rest/booking-svc/webhooks"
	"github.com/setora/rest/shared/db"
	"github.com/setora/rest/shared/telemetry"
)

const serviceName = "booking-svc"

const usage = `usage: booking-svc [command]

commands:
  serve     serve the API (the default)
  migrate   apply the database migrations and exit
  demo      load the demo shop and print a test-mode key (see 'booking-svc demo -h')
  keys      manage organisations and API keys (see 'booking-svc keys -h')
  routes    print the public routes, one "METHOD /path" a line, and exit

Every command but routes reads DATABASE_URL.
`

func main() {
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(os.Stdout, nil))).With("service", serviceName)
	command := "serve"
	args := os.Args[1:]
	if len(args) > 0 {
		command, args = args[0], args[1:]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch command {
	case "serve":
		err = serve(ctx, log)
	case "migrate":
		err = migrate(ctx, log)
	case "demo":
		err = demo(ctx, args)
	case "keys":
		err = keys(ctx, args)
	case "routes":
		printRoutes(log)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", command, usage)
		os.Exit(2)
	}
	if err != nil {
		log.Error(command+" failed", "error", err.Error())
		os.Exit(1)
	}
}

func databaseURL() (string, error) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return "", fmt.Errorf("DATABASE_URL is not set: set it to the PostgreSQL URL of the owner role")
	}
	return url, nil
}

func migrate(ctx context.Context, log *slog.Logger) error {
	url, err := databaseURL()
	if err != nil {
		return err
	}
	applied, err := db.Migrate(ctx, url)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", len(applied), "files", applied)

	// River's tables, which hold the webhook delivery queue, come from River's own migrator.
	pool, err := db.Connect(ctx, url, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	versions, err := webhooks.MigrateQueue(ctx, pool)
	if err != nil {
		return err
	}
	log.Info("job queue migrations applied", "count", len(versions), "versions", versions)
	return nil
}
