package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/setora/rest/booking-svc/webhooks/signature"
	"github.com/setora/rest/shared/auth"
)

// MaxResponseBytes is how much of a receiver's response body is read. The rest is ignored, and
// only the status code matters.
const MaxResponseBytes = 64 << 10

// userAgent identifies delivery requests.
const userAgent = "Setora-Webhooks/1"

// Headers sent with every delivery besides the signature.
const (
	HeaderEventID   = "Setora-Event-Id"
	HeaderEventType = "Setora-Event-Type"
	HeaderAttempt   = "Setora-Delivery-Attempt"
)

// deliveryWorker sends one event to one endpoint per attempt.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	cfg     Config
	pool    *pgxpool.Pool
	log     *slog.Logger
	metrics *metrics
	// clients holds one HTTP client per organisation mode, because the modes allow different
	// addresses.
	clients map[string]*http.Client
	now     func() time.Time
}

func newDeliveryWorker(cfg Config, pool *pgxpool.Pool, log *slog.Logger, m *metrics) *deliveryWorker {
	return &deliveryWorker{
		cfg: cfg, pool: pool, log: log, metrics: m, now: time.Now,
		clients: map[string]*http.Client{
			auth.ModeLive: newHTTPClient(auth.ModeLive, cfg.AttemptTimeout),
			auth.ModeTest: newHTTPClient(auth.ModeTest, cfg.AttemptTimeout),
		},
	}
}

// newHTTPClient returns a client that follows no redirects, ignores proxy settings (a proxy
// would hide the address actually reached) and checks every address it dials.
func newHTTPClient(mode string, timeout time.Duration) *http.Client {
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           newDialer(mode, timeout).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Timeout gives River's job context room for the HTTP attempt and the bookkeeping around it.
func (w *deliveryWorker) Timeout(*river.Job[deliveryArgs]) time.Duration { return w.cfg.jobTimeout() }

// target is what one attempt needs, read fresh for each attempt so that a changed URL, a rotated
// secret or a disabled endpoint applies at once.
type target struct {
	url            string
	status         string
	secret         string
	previousSecret string
	mode           string
	event          *Event
}

// errGone means the endpoint or the event no longer exists.
var errGone = errors.New("endpoint or event deleted")

func (w *deliveryWorker) loadTarget(ctx context.Context, args deliveryArgs) (*target, error) {
	var t target
	var previous *string
	row := w.pool.QueryRow(ctx, `SELECT e.url, e.status, e.secret,
			CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END, `+eventColumns+`
		FROM webhook_endpoints e
		JOIN outbox_events ev ON ev.id = $2 AND ev.organisation_id = e.organisation_id
		JOIN organisations org ON org.id = e.organisation_id
		WHERE e.id = $1`, args.EndpointID, args.EventID)
	var e Event
	var payload []byte
	err := row.Scan(&t.url, &t.status, &t.secret, &previous,
		&e.ID, &e.Type, &e.createdAt, &e.Organisation.ID, &e.Organisation.Mode, &e.Sequence, &payload, &e.bookingID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errGone
	}
	if err != nil {
		return nil, fmt.Errorf("read delivery target: %w", err)
	}
	e.CreatedAt, e.APIVersion, e.Data.Booking = formatTime(e.createdAt), APIVersion, payload
	t.event, t.mode = &e, e.Organisation.Mode
	if previous != nil {
		t.previousSecret = *previous
	}
	return &t, nil
}

// attemptResult is the outcome of one HTTP attempt.
type attemptResult struct {
	outcome    string
	statusCode int
	latency    time.Duration
	// problem explains why the attempt failed, in words fit for the integrator's delivery log.
	// It never contains the URL, which may carry a token.
	problem string
}

// Work makes one attempt. A failure is returned to River, which retries on the schedule of
// retryPolicy, unless the next retry would fall beyond the horizon: then the endpoint is marked
// failing and the job cancelled.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	args := job.Args
	t, err := w.loadTarget(ctx, args)
	if errors.Is(err, errGone) {
		w.metrics.observeFinished(resultDropped, job.Attempt)
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if t.status == StatusDisabled {
		w.metrics.observeFinished(resultDropped, job.Attempt)
		return river.JobCancel(fmt.Errorf("endpoint %s is disabled", args.EndpointID))
	}

	res, err := w.send(ctx, t, job.Attempt)
	if err != nil {
		// The job's own context ended (shutdown or River's timeout): no attempt to record.
		return err
	}
	w.metrics.observeAttempt(res.outcome, res.latency)
	w.recordAttempt(ctx, job, res)

	if res.outcome == outcomeSucceeded {
		w.metrics.observeFinished(resultDelivered, job.Attempt)
		if t.status == StatusFailing {
			w.markRecovered(ctx, args.EndpointID)
		}
		return nil
	}

	failure := fmt.Errorf("deliver event %s to endpoint %s: %s", args.EventID, args.EndpointID, res.problem)
	if w.cfg.isLastAttempt(job.JobRow, w.now()) {
		w.metrics.observeFinished(resultAbandoned, job.Attempt)
		w.markFailing(ctx, args.EndpointID, args.EventID, job.Attempt)
		return river.JobCancel(failure)
	}
	w.log.Info("webhook delivery failed; will retry", "endpoint_id", args.EndpointID, "event_id", args.EventID,
		"attempt", job.Attempt, "outcome", res.outcome, "status_code", res.statusCode, "error", res.problem)
	return failure
}

// send makes the HTTP request. It returns an error only when ctx ended, which is not the
// receiver's fault.
func (w *deliveryWorker) send(ctx context.Context, t *target, attempt int) (attemptResult, error) {
	body, err := t.event.Body()
	if err != nil {
		return attemptResult{}, fmt.Errorf("encode event %s: %w", t.event.ID, err)
	}
	client := w.clients[t.mode]
	if client == nil {
		return attemptResult{}, fmt.Errorf("organisation mode %q has no delivery client", t.mode)
	}

	attemptCtx, cancel := context.WithTimeout(ctx, w.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(attemptCtx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return attemptResult{outcome: outcomeConnectionError, problem: "the endpoint URL could not be used: " + unwrapURLError(err).Error()}, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEventID, t.event.ID.String())
	req.Header.Set(HeaderEventType, t.event.Type)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	req.Header.Set(signature.Header, signature.Sign(body, w.now(), t.secret, t.previousSecret))

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		latency := time.Since(start)
		if ctx.Err() != nil {
			return attemptResult{}, fmt.Errorf("delivery of event %s interrupted: %w", t.event.ID, ctx.Err())
		}
		return classifyError(err, latency, w.cfg.AttemptTimeout), nil
	}
	// Read a bounded part of the response so the connection can be reused, then drop it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBytes))
	resp.Body.Close()
	res := attemptResult{statusCode: resp.StatusCode, latency: time.Since(start)}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.outcome = outcomeSucceeded
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.outcome, res.problem = outcomeHTTPError, fmt.Sprintf("the endpoint responded with status %d; redirects are not followed, so register the final URL", resp.StatusCode)
	default:
		res.outcome, res.problem = outcomeHTTPError, fmt.Sprintf("the endpoint responded with status %d; respond with any 2xx status to acknowledge an event", resp.StatusCode)
	}
	return res, nil
}

// classifyError turns a failed request into an attempt result.
func classifyError(err error, latency, timeout time.Duration) attemptResult {
	var blocked *BlockedAddressError
	var netErr net.Error
	switch {
	case errors.As(err, &blocked):
		return attemptResult{outcome: outcomeBlockedAddress, latency: latency,
			problem: blocked.Error() + "; webhook endpoints must be reachable on the public internet"}
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return attemptResult{outcome: outcomeTimeout, latency: latency,
			problem: fmt.Sprintf("timed out after %s; respond within that time and do slow work after responding", timeout)}
	default:
		return attemptResult{outcome: outcomeConnectionError, latency: latency, problem: unwrapURLError(err).Error()}
	}
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the whole URL.
func unwrapURLError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// recordAttempt writes the attempt to the endpoint's delivery log. A failure to write it is
// logged and does not change the delivery's outcome.
func (w *deliveryWorker) recordAttempt(ctx context.Context, job *river.Job[deliveryArgs], res attemptResult) {
	outcome := "failed"
	if res.outcome == outcomeSucceeded {
		outcome = "succeeded"
	}
	var statusCode *int
	if res.statusCode != 0 {
		statusCode = &res.statusCode
	}
	_, err := w.pool.Exec(ctx, `INSERT INTO webhook_deliveries (organisation_id, endpoint_id, event_id, attempt,
			redelivery, outcome, status_code, latency_ms, error)
		SELECT organisation_id, id, $2, $3, $4, $5, $6, $7, $8 FROM webhook_endpoints WHERE id = $1`,
		job.Args.EndpointID, job.Args.EventID, job.Attempt, job.Args.Redelivery, outcome, statusCode,
		res.latency.Milliseconds(), res.problem)
	if err != nil {
		w.log.Error("recording a webhook delivery attempt failed", "endpoint_id", job.Args.EndpointID,
			"event_id", job.Args.EventID, "attempt", job.Attempt, "error", err.Error())
	}
}

// markFailing marks an enabled endpoint failing after a delivery ran out of retries.
func (w *deliveryWorker) markFailing(ctx context.Context, endpointID, eventID uuid.UUID, attempts int) {
	tag, err := w.pool.Exec(ctx, `UPDATE webhook_endpoints SET status = 'failing', failing_since = now(), updated_at = now()
		WHERE id = $1 AND status = 'enabled'`, endpointID)
	if err != nil {
		w.log.Error("marking a webhook endpoint failing failed", "endpoint_id", endpointID, "error", err.Error())
		return
	}
	w.log.Warn("webhook delivery abandoned after the retry horizon", "endpoint_id", endpointID, "event_id", eventID,
		"attempts", attempts, "retry_horizon", w.cfg.RetryHorizon.String(), "endpoint_marked_failing", tag.RowsAffected() > 0)
}

// markRecovered enables a failing endpoint again after a delivery to it succeeded.
func (w *deliveryWorker) markRecovered(ctx context.Context, endpointID uuid.UUID) {
	tag, err := w.pool.Exec(ctx, `UPDATE webhook_endpoints SET status = 'enabled', failing_since = NULL, updated_at = now()
		WHERE id = $1 AND status = 'failing'`, endpointID)
	if err != nil {
		w.log.Error("re-enabling a recovered webhook endpoint failed", "endpoint_id", endpointID, "error", err.Error())
		return
	}
	if tag.RowsAffected() > 0 {
		w.log.Info("webhook endpoint recovered", "endpoint_id", endpointID)
	}
}
