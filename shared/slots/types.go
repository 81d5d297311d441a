// Package slots is the pure slot engine: given one location's day schedules, the services asked
// for and the current instant, it lists the bookable start times. It performs no I/O and reads
// no clock, so availability-svc (to list slots) and booking-svc (to re-check a write inside its
// transaction) reach the same answer from the same data.
package slots

import (
	"time"

	"github.com/google/uuid"
)

// Date is a calendar date local to a location, with no time zone of its own.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// WallWindow is a span of local wall-clock time on a given date, in minutes since local
// midnight. EndMinute may exceed 1440 for a window that crosses midnight, and such a window
// belongs to the date it starts on. The engine ignores a window unless 0 <= StartMinute < 1440
// and StartMinute < EndMinute <= StartMinute + 1440. Boundaries resolve to instants as Date.At
// describes, so a window wholly inside a spring-forward gap is empty.
type WallWindow struct {
	StartMinute int
	EndMinute   int
}

// DayHours is one date's working or opening hours: the windows and, for staff, the breaks that
// fall inside them. An empty Windows slice means closed or not working.
type DayHours struct {
	Windows []WallWindow
	Breaks  []WallWindow
}

// Interval is a half-open span of time [Start, End). The engine widens it to whole seconds,
// rounding Start down and End up, and ignores it when End is not after Start.
type Interval struct {
	Start time.Time
	End   time.Time
}

// Busy is a blocked interval of an active booking or a hold. A hold blocks only while
// HoldExpiresAt is after now; a zero HoldExpiresAt means the booking blocks until it is
// cancelled.
type Busy struct {
	Interval      Interval
	HoldExpiresAt time.Time
}

// Rules holds the location-wide settings that shape every slot.
type Rules struct {
	TimeZone *time.Location // the location's IANA zone; nil means UTC
	// StepMinutes is the slot step, counted in elapsed time from each working window's start. A
	// day whose step is less than 1 has no slot grid and so no slots.
	StepMinutes int
	// NoticeMinutes is the minimum elapsed time between now and a slot's start. A negative
	// value counts as 0.
	NoticeMinutes int
	// WindowDays is the length of the booking window in local dates, where today counts as day
	// 1. A value less than 1 allows no date at all.
	WindowDays int
}

// Service is the part of a service that scheduling needs.
type Service struct {
	ID           uuid.UUID
	Duration     time.Duration
	BufferBefore time.Duration
	BufferAfter  time.Duration
}

// StaffDay is one staff member's schedule on one local date at one location.
type StaffDay struct {
	StaffID  uuid.UUID
	Services map[uuid.UUID]bool // services this staff member performs at the location
	Hours    DayHours           // special hours for the date when set, else the weekly hours
	TimeOff  []Interval         // every time-off span that touches the date's working windows
	Busy     []Busy             // bookings and holds that touch the date's working windows
}

// DaySchedule is everything the engine needs for one location on one local date. It is the unit
// that availability-svc caches.
type DaySchedule struct {
	Date    Date
	Rules   Rules
	Closed  bool     // a dated closure: no slot at all
	Opening DayHours // the location's opening hours for the date (Breaks unused)
	Staff   []StaffDay
}

// Slot is one bookable start with the staff member who would take it.
type Slot struct {
	Start   time.Time
	End     time.Time
	StaffID uuid.UUID
}
