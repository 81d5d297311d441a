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
	mountCatalogue(v1, deps)
	mountTestClock(v1, deps)
	mountWebhooks(v1, deps)
	mountEvents(v1, deps)
	mountClients(v1, deps)
}

func mountBookings(v1 fiber.Router, deps Deps) {
	h := &Handlers{Store: deps.Store}
	v1.Post("/bookings", auth.Require(auth.ScopeBookingsWrite), h.CreateBooking)
	v1.Get("/bookings", auth.Require(auth.ScopeBookingsRead), h.ListBookings)
	v1.Get("/bookings/:id", auth.Require(auth.ScopeBookingsRead), h.GetBooking)
	v1.Post("/bookings/:id/confirm", auth.Require(auth.ScopeBookingsWrite), h.ConfirmBooking)
	v1.Post("/bookings/:id/cancel", auth.Require(auth.ScopeBookingsWrite), h.CancelBooking)
	v1.Post("/bookings/:id/reschedule", auth.Require(auth.ScopeBookingsWrite), h.RescheduleBooking)
	v1.Post("/bookings/:id/complete", auth.Require(auth.ScopeBookingsWrite), h.CompleteBooking)
	v1.Post("/bookings/:id/no_show", auth.Require(auth.ScopeBookingsWrite), h.NoShowBooking)
}

func mountClients(v1 fiber.Router, deps Deps) {
	h := &ClientHandlers{Store: deps.Store}
	read, write := auth.Require(auth.ScopeClientsRead), auth.Require(auth.ScopeClientsWrite)
	v1.Post("/clients", write, h.CreateClient)
	v1.Get("/clients", read, h.ListClients)
	v1.Get("/clients/:id", read, h.GetClient)
	v1.Patch("/clients/:id", write, h.UpdateClient)
	v1.Delete("/clients/:id", write, h.EraseClient)
	v1.Get("/clients/:id/bookings", read, auth.Require(auth.ScopeBookingsRead), h.ListClientBookings)
}
