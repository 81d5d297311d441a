package main

import (
	"crypto/rand"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"time"

	"github.com/google/uuid"
)

// shopConfig sizes the data a run sets up for itself.
type shopConfig struct {
	Organisations int     `json:"organisations"`
	Locations     int     `json:"locations_per_organisation"`
	Staff         int     `json:"staff_per_location"`
	Weeks         int     `json:"weeks"`
	Booked        float64 `json:"booked_fraction"`
	KeysPerOrg    int     `json:"keys_per_organisation"`
	// Catalogue is the way locations, services, staff and hours are created: "api" through
	// booking-svc's catalogue endpoints, "sql" straight into PostgreSQL. Organisations and keys
	// are always written with SQL, because the API has no endpoint for them.
	Catalogue string `json:"catalogue"`
	// Seed is the way the existing bookings are created: "api" through POST /v1/bookings, "sql"
	// in one statement per organisation.
	Seed string `json:"seed"`
}

func (c shopConfig) validate() error {
	switch {
	case c.Organisations < 1 || c.Organisations > 100:
		return fmt.Errorf("-orgs %d must be between 1 and 100", c.Organisations)
	case c.Locations < 1 || c.Locations > 1000:
		return fmt.Errorf("-locations %d must be between 1 and 1000", c.Locations)
	case c.Staff < 1 || c.Staff > 100:
		return fmt.Errorf("-staff %d must be between 1 and 100", c.Staff)
	case c.Weeks < 1 || c.Weeks > 8:
		return fmt.Errorf("-weeks %d must be between 1 and 8, because the shop's booking window is 60 days", c.Weeks)
	case c.Booked < 0 || c.Booked > 0.95:
		return fmt.Errorf("-booked %g must be between 0 and 0.95", c.Booked)
	case c.KeysPerOrg < 1 || c.KeysPerOrg > 50:
		return fmt.Errorf("-keys %d must be between 1 and 50", c.KeysPerOrg)
	case c.Catalogue != "api" && c.Catalogue != "sql":
		return fmt.Errorf("-catalogue %q must be api or sql", c.Catalogue)
	case c.Seed != "api" && c.Seed != "sql":
		return fmt.Errorf("-seed %q must be api or sql", c.Seed)
	}
	return nil
}

// Every location of a run opens daily 08:00-20:00 and uses these rules.
const (
	slotStepMinutes   = 15
	minNoticeMinutes  = 60
	bookingWindowDays = 60
)

// zones are given to locations in turn, so a run covers zones east and west of UTC, with and
// without daylight saving.
var zones = []string{"Europe/London", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Tokyo"}

// service is one of the catalogue services every organisation gets.
type service struct {
	ID             uuid.UUID
	Name           string
	Minutes        int
	BufferBefore   int
	BufferAfter    int
	PriceMinor     int64
	DepositMinor   int64
	PerformedByAll bool
}

// serviceTemplates are the services of each organisation. The first is the one the load books:
// 30 minutes without buffers, which every staff member performs.
var serviceTemplates = []service{
	{Name: "Classic cut", Minutes: 30, PriceMinor: 2800, PerformedByAll: true},
	{Name: "Beard trim", Minutes: 15, PriceMinor: 1200},
	{Name: "Colour", Minutes: 60, BufferAfter: 15, PriceMinor: 6500, DepositMinor: 2000},
	{Name: "Skin fade", Minutes: 45, BufferBefore: 5, BufferAfter: 10, PriceMinor: 3200},
}

type organisation struct {
	ID        uuid.UUID
	Name      string
	Keys      []string
	Services  []service
	Locations []*location
}

type location struct {
	ID       uuid.UUID
	Org      *organisation
	Slug     string
	ZoneName string
	Zone     *time.Location
	Staff    []*staffMember
	// Today is the location's local date when the shop was set up. The run books and polls
	// from the day after tomorrow, so minimum notice and past times never apply.
	Today time.Time
}

type staffMember struct {
	ID uuid.UUID
	// Services are indexes into the organisation's services.
	Services []int
	// Sundays is set for staff who also work Sundays 10:00-16:00.
	Sundays bool
}

// Staff work Monday to Saturday 09:00-17:00 with a break 12:30-13:00, in minutes from midnight.
const (
	workStart  = 9 * 60
	workEnd    = 17 * 60
	breakStart = 12*60 + 30
	breakEnd   = 13 * 60
	sundayFrom = 10 * 60
	sundayTo   = 16 * 60
)

// startMinutes lists the half-hour starts of a staff member's 30-minute appointments on a
// weekday: inside working hours and clear of the break.
func (s *staffMember) startMinutes(weekday time.Weekday) []int {
	var out []int
	switch {
	case weekday == time.Sunday && s.Sundays:
		for m := sundayFrom; m+30 <= sundayTo; m += 30 {
			out = append(out, m)
		}
	case weekday != time.Sunday:
		for m := workStart; m+30 <= workEnd; m += 30 {
			if m+30 <= breakStart || m >= breakEnd {
				out = append(out, m)
			}
		}
	}
	return out
}

// candidate is a 30-minute appointment of the first service that the rules allow: it may be
// free or taken.
type candidate struct {
	Loc   *location
	Staff *staffMember
	Start time.Time
}

// firstDay is the first date (local midnight) that the run books or polls.
func (l *location) firstDay() time.Time { return l.Today.AddDate(0, 0, 2) }

// candidates lists every bookable 30-minute start of the location over the run's weeks.
func (l *location) candidates(weeks int) []candidate {
	var out []candidate
	first := l.firstDay()
	for d := range weeks * 7 {
		day := first.AddDate(0, 0, d)
		for _, st := range l.Staff {
			for _, m := range st.startMinutes(day.Weekday()) {
				start := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, l.Zone)
				out = append(out, candidate{Loc: l, Staff: st, Start: start})
			}
		}
	}
	return out
}

type shop struct {
	RunID  string
	Config shopConfig
	Orgs   []*organisation
}

func (s *shop) locations() []*location {
	var out []*location
	for _, o := range s.Orgs {
		out = append(out, o.Locations...)
	}
	return out
}

func (s *shop) organisationIDs() []uuid.UUID {
	out := make([]uuid.UUID, len(s.Orgs))
	for i, o := range s.Orgs {
		out[i] = o.ID
	}
	return out
}

// newShop plans the shop's records; setUpShop writes them.
func newShop(cfg shopConfig, rng *mrand.Rand) (*shop, error) {
	runID, err := randomRunID()
	if err != nil {
		return nil, err
	}
	s := &shop{RunID: runID, Config: cfg}
	for o := range cfg.Organisations {
		org := &organisation{ID: uuid.New(), Name: fmt.Sprintf("Load test %s shop %d", runID, o+1)}
		for _, t := range serviceTemplates {
			t.ID = uuid.New()
			org.Services = append(org.Services, t)
		}
		for l := range cfg.Locations {
			zoneName := zones[(o*cfg.Locations+l)%len(zones)]
			zone, err := time.LoadLocation(zoneName)
			if err != nil {
				return nil, fmt.Errorf("load time zone %s: %w", zoneName, err)
			}
			now := time.Now().In(zone)
			loc := &location{
				ID: uuid.New(), Org: org, ZoneName: zoneName, Zone: zone,
				Slug:  fmt.Sprintf("lt-%s-%d-%d", runID, o+1, l+1),
				Today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone),
			}
			for i := range cfg.Staff {
				st := &staffMember{ID: uuid.New(), Sundays: i%2 == 1}
				for j, svc := range org.Services {
					if svc.PerformedByAll || rng.IntN(3) > 0 {
						st.Services = append(st.Services, j)
					}
				}
				loc.Staff = append(loc.Staff, st)
			}
			org.Locations = append(org.Locations, loc)
		}
		s.Orgs = append(s.Orgs, org)
	}
	return s, nil
}

// randomRunID returns six lower-case letters and digits that tell one run's records apart.
func randomRunID() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 6)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}
