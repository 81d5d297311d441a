package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/booking-svc/catalogue"
	"github.com/setora/rest/shared/apierr"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/httpapi"
)

// mountTestClock adds the test clock of a test-mode organisation. The clock is part of the
// organisation's setup, so reading it needs catalog:read and changing it catalog:write.
func mountTestClock(v1 fiber.Router, deps Deps) {
	h := &testClockHandlers{store: catalogue.NewStore(deps.Pool, deps.Echo), bookings: deps.Store}
	v1.Get("/test_clock", auth.Require(auth.ScopeCatalogRead), h.get)
	v1.Post("/test_clock", auth.Require(auth.ScopeCatalogWrite), h.set)
	v1.Delete("/test_clock", auth.Require(auth.ScopeCatalogWrite), h.clear)
}

type testClockHandlers struct {
	store    *catalogue.Store
	bookings *bookings.Store
}

func testClockError(err error) error {
	if errors.Is(err, catalogue.ErrNotTestMode) {
		return apierr.New(http.StatusForbidden, "test_mode_only", "",
			"test clocks exist only for test-mode organisations; use an sk_test_ key")
	}
	return catalogueError(err)
}

func (h *testClockHandlers) get(c *fiber.Ctx) error {
	clock, err := h.store.GetTestClock(c.UserContext(), auth.From(c).OrganisationID)
	if err != nil {
		return testClockError(err)
	}
	return sendOne(c, http.StatusOK, clock.View(time.Now()))
}

func (h *testClockHandlers) set(c *fiber.Ctx) error {
	if auth.From(c).Mode != auth.ModeTest {
		return testClockError(catalogue.ErrNotTestMode)
	}
	var in catalogue.TestClockInput
	if err := httpapi.DecodeJSON(c, &in); err != nil {
		return err
	}
	now := time.Now()
	if err := h.settleHolds(c.UserContext(), auth.From(c).OrganisationID, now); err != nil {
		return err
	}
	clock, err := h.store.SetTestClock(c.UserContext(), auth.From(c).OrganisationID, now, in)
	if err != nil {
		return testClockError(err)
	}
	return sendOne(c, http.StatusOK, clock.View(now))
}

func (h *testClockHandlers) clear(c *fiber.Ctx) error {
	if err := h.settleHolds(c.UserContext(), auth.From(c).OrganisationID, time.Now()); err != nil {
		return err
	}
	if err := h.store.ClearTestClock(c.UserContext(), auth.From(c).OrganisationID); err != nil {
		return testClockError(err)
	}
	return sendOne(c, http.StatusOK, catalogue.TestClock{}.View(time.Now()))
}

// settleHolds expires the holds that have lapsed at the instant the clock shows before it
// moves. Reads report a lapsed hold as expired before the sweeper writes it, and without this a
// clock set back in that gap would bring the hold back.
func (h *testClockHandlers) settleHolds(ctx context.Context, orgID uuid.UUID, realNow time.Time) error {
	clock, err := h.store.GetTestClock(ctx, orgID)
	if err != nil {
		return testClockError(err)
	}
	clockNow := realNow
	if !clock.FrozenAt.IsZero() {
		clockNow = clock.FrozenAt
	}
	if _, err := h.bookings.ExpireHoldsAt(ctx, orgID, clockNow); err != nil {
		return fmt.Errorf("expiring lapsed holds before moving the test clock failed: %w", err)
	}
	return nil
}
