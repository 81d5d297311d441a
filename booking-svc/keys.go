package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/db"
	"github.com/setora/rest/shared/notify"
)

const keysUsage = `usage: booking-svc keys <command> [flags]

commands:
  create-org -name NAME -mode test|live        create an organisation and print its id
  list-orgs                                    list organisations: id, name, mode, active keys
  create -org ORG [-mode test|live] [-scopes LIST] [-rate-limit N] [-description TEXT]
                                               create a key and print it once; its mode is the
                                               organisation's, and -mode only checks it
  list -org ORG                                list keys: prefix, scopes, rate limit, last use
  set-limit -prefix PREFIX -rate-limit N       change a key's requests per minute
  revoke -prefix PREFIX                        revoke a key

ORG is an organisation's id, or its exact name when no other organisation has that name (the
make run demo shop is "Setora Demo Barbers").

Scopes: ` + "availability:read, catalog:read, catalog:write, bookings:read, bookings:write,\n" +
	`clients:read, clients:write, webhooks:read, webhooks:write (all of them by default).

booking-svc checks keys on every request, so a revoked key or a changed limit applies there at
once. availability-svc caches a key for KEY_CACHE_TTL (30s by default) and drops the cached
keys of an organisation when it hears of the change, so there too it applies at once while its
LISTEN connection is up, and within 30 seconds at most otherwise. LAST USED counts requests to
booking-svc only and is written at most once a minute per key.
`

func keys(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(keysUsage)
		return nil
	}
	url, err := databaseURL()
	if err != nil {
		return err
	}
	pool, err := db.Connect(ctx, url, 2)
	if err != nil {
		return err
	}
	defer pool.Close()

	command, args := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+command, flag.ContinueOnError)
	switch command {
	case "create-org":
		name := fs.String("name", "", "organisation name")
		mode := fs.String("mode", auth.ModeTest, "test or live")
		if err := fs.Parse(args); err != nil {
			return err
		}
		id, err := createOrganisation(ctx, pool, uuid.New(), *name, *mode)
		if err != nil {
			return err
		}
		fmt.Println(id)
	case "list-orgs":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return listOrganisations(ctx, pool, os.Stdout)
	case "create":
		org := fs.String("org", "", "organisation id or exact name")
		mode := fs.String("mode", "", "test or live; must match the organisation's mode when given")
		scopes := fs.String("scopes", strings.Join(auth.AllScopes, ","), "comma-separated scopes")
		limit := fs.Int("rate-limit", 120, "requests per minute")
		description := fs.String("description", "", "what the key is for")
		if err := fs.Parse(args); err != nil {
			return err
		}
		orgID, err := findOrganisation(ctx, pool, *org)
		if err != nil {
			return err
		}
		if err := checkMode(ctx, pool, orgID, *mode); err != nil {
			return err
		}
		var scopeList []string
		for _, s := range strings.Split(*scopes, ",") {
			scopeList = append(scopeList, strings.TrimSpace(s))
		}
		key, err := createKey(ctx, pool, orgID, scopeList, *limit, *description)
		if err != nil {
			return err
		}
		fmt.Println(key)
	case "list":
		org := fs.String("org", "", "organisation id or exact name")
		if err := fs.Parse(args); err != nil {
			return err
		}
		orgID, err := findOrganisation(ctx, pool, *org)
		if err != nil {
			return err
		}
		return listKeys(ctx, pool, orgID)
	case "set-limit":
		prefix := fs.String("prefix", "", "the key's prefix, as 'list' shows it")
		limit := fs.Int("rate-limit", 0, "requests per minute")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return setRateLimit(ctx, pool, *prefix, *limit)
	case "revoke":
		prefix := fs.String("prefix", "", "the key's prefix, as 'list' shows it")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return revokeKey(ctx, pool, *prefix)
	default:
		fmt.Fprint(os.Stderr, keysUsage)
		return fmt.Errorf("unknown keys command %q", command)
	}
	return nil
}

func createOrganisation(ctx context.Context, pool *pgxpool.Pool, id uuid.UUID, name, mode string) (uuid.UUID, error) {
	if strings.TrimSpace(name) == "" {
		return uuid.Nil, errors.New("-name is required")
	}
	if mode != auth.ModeTest && mode != auth.ModeLive {
		return uuid.Nil, fmt.Errorf("-mode %q must be test or live", mode)
	}
	_, err := pool.Exec(ctx, `INSERT INTO organisations (id, name, mode) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO NOTHING`, id, name, mode)
	if err != nil {
		return uuid.Nil, fmt.Errorf("create organisation: %w", err)
	}
	return id, nil
}

// findOrganisation resolves the -org flag: an organisation id, or the exact name of exactly one
// organisation. An id is returned as given, so a key for an unknown id still fails later with
// "not found".
func findOrganisation(ctx context.Context, pool *pgxpool.Pool, org string) (uuid.UUID, error) {
	if strings.TrimSpace(org) == "" {
		return uuid.Nil, errors.New("-org is required: an organisation id or exact name; 'booking-svc keys list-orgs' lists them")
	}
	if id, err := uuid.Parse(org); err == nil {
		return id, nil
	}
	rows, err := pool.Query(ctx, `SELECT id FROM organisations WHERE name = $1 ORDER BY created_at`, org)
	if err != nil {
		return uuid.Nil, fmt.Errorf("find organisation %q: %w", org, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return uuid.Nil, fmt.Errorf("find organisation %q: %w", org, err)
	}
	switch len(ids) {
	case 0:
		return uuid.Nil, fmt.Errorf("-org %q is neither an organisation id nor an organisation's name; 'booking-svc keys list-orgs' lists them", org)
	case 1:
		return ids[0], nil
	default:
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = id.String()
		}
		return uuid.Nil, fmt.Errorf("%d organisations are named %q (%s); pass -org with one of these ids", len(ids), org, strings.Join(names, ", "))
	}
}

// listOrganisations writes every organisation with its count of keys that are not revoked.
func listOrganisations(ctx context.Context, pool *pgxpool.Pool, out io.Writer) error {
	rows, err := pool.Query(ctx, `SELECT o.id, o.name, o.mode, o.created_at,
			(SELECT count(*) FROM api_keys k WHERE k.organisation_id = o.id AND k.revoked_at IS NULL)
		FROM organisations o ORDER BY o.created_at, o.id`)
	if err != nil {
		return fmt.Errorf("list organisations: %w", err)
	}
	defer rows.Close()
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tMODE\tACTIVE KEYS\tCREATED\tNAME")
	for rows.Next() {
		var id uuid.UUID
		var name, mode string
		var created time.Time
		var active int
		if err := rows.Scan(&id, &name, &mode, &created, &active); err != nil {
			return fmt.Errorf("list organisations: %w", err)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", id, mode, active, created.UTC().Format(time.RFC3339), name)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list organisations: %w", err)
	}
	return w.Flush()
}

// checkMode fails when mode is given and is not the organisation's: a key's mode is always its
// organisation's.
func checkMode(ctx context.Context, pool *pgxpool.Pool, orgID uuid.UUID, mode string) error {
	if mode == "" {
		return nil
	}
	var orgMode string
	err := pool.QueryRow(ctx, `SELECT mode FROM organisations WHERE id = $1`, orgID).Scan(&orgMode)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("organisation %s not found", orgID)
	}
	if err != nil {
		return fmt.Errorf("read organisation: %w", err)
	}
	if mode != orgMode {
		return fmt.Errorf("-mode %s does not match organisation %s, which is in %s mode; its keys are %s keys",
			mode, orgID, orgMode, orgMode)
	}
	return nil
}

// createKey stores a new key of the organisation's mode and returns it; it is never shown again.
func createKey(ctx context.Context, pool *pgxpool.Pool, orgID uuid.UUID, scopes []string, limit int, description string) (string, error) {
	for _, s := range scopes {
		if !auth.ValidScope(s) {
			return "", fmt.Errorf("unknown scope %q; known scopes: %s", s, strings.Join(auth.AllScopes, ", "))
		}
	}
	if limit < 1 || limit > 100000 {
		return "", fmt.Errorf("-rate-limit %d must be between 1 and 100000 requests per minute", limit)
	}
	var mode string
	err := pool.QueryRow(ctx, `SELECT mode FROM organisations WHERE id = $1`, orgID).Scan(&mode)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("organisation %s not found", orgID)
	}
	if err != nil {
		return "", fmt.Errorf("read organisation: %w", err)
	}

	key, prefix, hash, err := auth.NewKey(mode)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO api_keys (organisation_id, prefix, hash, scopes, rate_limit_per_minute, description)
		VALUES ($1, $2, $3, $4, $5, $6)`, orgID, prefix, hash, scopes, limit, description)
	if err != nil {
		return "", fmt.Errorf("store key: %w", err)
	}
	return key, nil
}

func listKeys(ctx context.Context, pool *pgxpool.Pool, orgID uuid.UUID) error {
	rows, err := pool.Query(ctx, `SELECT prefix, scopes, rate_limit_per_minute, description, created_at, last_used_at, revoked_at
		FROM api_keys WHERE organisation_id = $1 ORDER BY created_at`, orgID)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PREFIX\tSCOPES\tLIMIT/MIN\tCREATED\tLAST USED\tREVOKED\tDESCRIPTION")
	for rows.Next() {
		var prefix, description string
		var scopes []string
		var limit int
		var created time.Time
		var lastUsed, revoked *time.Time
		if err := rows.Scan(&prefix, &scopes, &limit, &description, &created, &lastUsed, &revoked); err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", prefix, strings.Join(scopes, ","), limit,
			created.UTC().Format(time.RFC3339), orDash(lastUsed), orDash(revoked), description)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	return w.Flush()
}

func orDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// setRateLimit changes a key's limit and notifies every availability replica so it rereads the
// key at once.
func setRateLimit(ctx context.Context, pool *pgxpool.Pool, prefix string, limit int) error {
	if limit < 1 || limit > 100000 {
		return fmt.Errorf("-rate-limit %d must be between 1 and 100000 requests per minute", limit)
	}
	return changeKey(ctx, pool, prefix, `UPDATE api_keys SET rate_limit_per_minute = $2
		WHERE prefix = $1 AND revoked_at IS NULL RETURNING organisation_id`, limit)
}

// revokeKey revokes the key and notifies every availability replica so it drops the key from
// its cache at once.
func revokeKey(ctx context.Context, pool *pgxpool.Pool, prefix string) error {
	if err := changeKey(ctx, pool, prefix, `UPDATE api_keys SET revoked_at = now()
		WHERE prefix = $1 AND revoked_at IS NULL RETURNING organisation_id`); err != nil {
		return err
	}
	fmt.Printf("revoked %s\n", prefix)
	return nil
}

// changeKey runs update, which takes the prefix as $1 and returns the organisation id, and
// notifies the availability replicas in the same transaction.
func changeKey(ctx context.Context, pool *pgxpool.Pool, prefix, update string, args ...any) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("change key %s: %w", prefix, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	var orgID uuid.UUID
	err = tx.QueryRow(ctx, update, append([]any{prefix}, args...)...).Scan(&orgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("no active key with prefix %q; 'keys list' shows the prefixes", prefix)
	}
	if err != nil {
		return fmt.Errorf("change key %s: %w", prefix, err)
	}
	if _, err := notify.Send(ctx, tx, notify.Change{Kind: notify.KindOrganisation, OrganisationID: orgID}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("change key %s: %w", prefix, err)
	}
	return nil
}

// keyUseInterval is the shortest time between two writes of one key's last_used_at.
const keyUseInterval = time.Minute

// keyUse remembers when this process last wrote each key's last_used_at.
type keyUse struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu      sync.Mutex
	written map[uuid.UUID]time.Time
}

// maxRememberedKeys bounds keyUse's memory; past it the map is emptied, which costs at most one
// extra write per key.
const maxRememberedKeys = 10000

// recordKeyUse stores when each key was last used, at most once a minute per key and process.
// The UPDATE's own condition keeps several replicas to about the same pace.
func recordKeyUse(pool *pgxpool.Pool, log *slog.Logger) fiber.Handler {
	u := &keyUse{pool: pool, log: log, written: map[uuid.UUID]time.Time{}}
	return func(c *fiber.Ctx) error {
		if p := auth.From(c); p != nil && pool != nil && u.due(p.KeyID, time.Now()) {
			u.write(c.UserContext(), p)
		}
		return c.Next()
	}
}

func (u *keyUse) due(keyID uuid.UUID, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if last, ok := u.written[keyID]; ok && now.Sub(last) < keyUseInterval {
		return false
	}
	if len(u.written) >= maxRememberedKeys {
		clear(u.written)
	}
	u.written[keyID] = now
	return true
}

// write updates last_used_at; a failure is logged and never fails the request.
func (u *keyUse) write(ctx context.Context, p *auth.Principal) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_, err := u.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, p.KeyID)
	if err != nil {
		u.log.Warn("recording the key's last use failed", "key_prefix", p.Prefix, "error", err.Error())
	}
}
