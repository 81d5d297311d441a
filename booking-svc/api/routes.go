package api

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/setora/rest/booking-svc/bookings"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/notify"
)

// Deps are what the handlers need.
type Deps struct {
	Pool  *pgxpool.Pool
	Store *bookings.Store
	Echo  *notify.Echo
	Log   *slog.Logger
}

// Mount adds every booking-svc route under v1, which already checks the key.
func Mount(v1 fiber.Router, deps Deps) {
	mountBookings(v1, deps)
}

func mountBookings(v1 fiber.Router, deps Deps) {
	h := &Handlers{Store: deps.Store}
	v1.Post("/bookings", auth.Require(auth.ScopeBookingsWrite), h.CreateBooking)
	v1.Get("/bookings/:id", auth.Require(auth.ScopeBookingsRead), h.GetBooking)
	v1.Post("/bookings/:id/cancel", auth.Require(auth.ScopeBookingsWrite), h.CancelBooking)
}
