package slotquery

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need the same zone data on every machine

	"github.com/google/uuid"

	"github.com/setora/rest/shared/slots"
)

const (
	cutID   = "c0000000-0000-4000-8000-000000000001"
	beardID = "c0000000-0000-4000-8000-000000000002"
	staffID = "aaaaaaaa-0000-4000-8000-000000000001"
)

func TestParseQueryAccepts(t *testing.T) {
	tests := []struct {
		name         string
		query        string
		wantServices []string
		wantDate     string
		wantDays     int
		wantStaff    string
		wantZone     string
	}{
		{
			name:         "minimal",
			query:        "service_ids=" + cutID + "&date=2026-06-10",
			wantServices: []string{cutID},
			wantDate:     "2026-06-10",
			wantDays:     1,
		},
		{
			name:         "comma-separated services keep their order",
			query:        "service_ids=" + beardID + "," + cutID + "&date=2026-06-10&days=7",
			wantServices: []string{beardID, cutID},
			wantDate:     "2026-06-10",
			wantDays:     7,
		},
		{
			name:         "repeated and percent-encoded commas",
			query:        "service_ids=" + cutID + "&service_ids=" + beardID + "%2C" + strings.Replace(cutID, "1", "3", 1) + "&date=2028-02-29",
			wantServices: []string{cutID, beardID, strings.Replace(cutID, "1", "3", 1)},
			wantDate:     "2028-02-29",
			wantDays:     1,
		},
		{
			name:         "every parameter",
			query:        "service_ids=" + cutID + "&date=2026-06-10&days=31&staff_id=" + staffID + "&timezone=Europe%2FLondon",
			wantServices: []string{cutID},
			wantDate:     "2026-06-10",
			wantDays:     31,
			wantStaff:    staffID,
			wantZone:     "Europe/London",
		},
		{
			name:         "upper-case UUID",
			query:        "service_ids=" + strings.ToUpper(cutID) + "&date=2026-06-10",
			wantServices: []string{cutID},
			wantDate:     "2026-06-10",
			wantDays:     1,
		},
		{
			name:         "UTC zone",
			query:        "service_ids=" + cutID + "&date=2026-06-10&timezone=UTC",
			wantServices: []string{cutID},
			wantDate:     "2026-06-10",
			wantDays:     1,
			wantZone:     "UTC",
		},
		{
			name:         "Etc zone with a sign",
			query:        "service_ids=" + cutID + "&date=2026-06-10&timezone=Etc/GMT%2B5",
			wantServices: []string{cutID},
			wantDate:     "2026-06-10",
			wantDays:     1,
			wantZone:     "Etc/GMT+5",
		},
		{
			name:         "empty pairs are skipped",
			query:        "&service_ids=" + cutID + "&&date=2026-06-10&",
			wantServices: []string{cutID},
			wantDate:     "2026-06-10",
			wantDays:     1,
		},
		{
			name:         "five services",
			query:        "service_ids=" + serviceIDList(5) + "&date=2026-06-10",
			wantServices: strings.Split(serviceIDList(5), ","),
			wantDate:     "2026-06-10",
			wantDays:     1,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQuery(tt.query)
			if err != nil {
				t.Fatalf("ParseQuery(%q) returned error: %v", tt.query, err)
			}

			if len(got.ServiceIDs) != len(tt.wantServices) {
				t.Fatalf("got %d service ids %v, want %v", len(got.ServiceIDs), got.ServiceIDs, tt.wantServices)
			}
			for i, want := range tt.wantServices {
				if got.ServiceIDs[i] != uuid.MustParse(want) {
					t.Errorf("service id %d = %s, want %s", i, got.ServiceIDs[i], want)
				}
			}
			if got.Date.String() != tt.wantDate {
				t.Errorf("date = %v, want %s", got.Date, tt.wantDate)
			}
			if got.Days != tt.wantDays {
				t.Errorf("days = %d, want %d", got.Days, tt.wantDays)
			}

			wantStaff := uuid.Nil
			if tt.wantStaff != "" {
				wantStaff = uuid.MustParse(tt.wantStaff)
			}
			if got.StaffID != wantStaff {
				t.Errorf("staff id = %s, want %s", got.StaffID, wantStaff)
			}

			switch {
			case tt.wantZone == "" && got.TimeZone != nil:
				t.Errorf("time zone = %v, want none", got.TimeZone)
			case tt.wantZone != "" && (got.TimeZone == nil || got.TimeZone.String() != tt.wantZone):
				t.Errorf("time zone = %v, want %s", got.TimeZone, tt.wantZone)
			}
		})
	}
}

// serviceIDList returns n distinct service UUIDs separated by commas.
func serviceIDList(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "c0000000-0000-4000-8000-00000000001" + string(rune('0'+i))
	}
	return strings.Join(ids, ",")
}

func TestParseQueryRejects(t *testing.T) {
	base := "service_ids=" + cutID + "&date=2026-06-10"

	tests := []struct {
		name        string
		query       string
		wantParam   string
		wantMessage string
	}{
		{name: "missing services", query: "date=2026-06-10", wantParam: "service_ids",
			wantMessage: "service_ids is missing; give 1 to 5 service UUIDs separated by commas"},
		{name: "empty services", query: "service_ids=&date=2026-06-10", wantParam: "service_ids",
			wantMessage: `service_ids "" contains an empty item; separate service UUIDs with single commas`},
		{name: "trailing comma", query: "service_ids=" + cutID + ",&date=2026-06-10", wantParam: "service_ids"},
		{name: "six services", query: "service_ids=" + serviceIDList(5) + "," + beardID + "&date=2026-06-10", wantParam: "service_ids",
			wantMessage: "service_ids has more than 5 items; give 1 to 5 service UUIDs"},
		{name: "six services repeated", query: "service_ids=" + serviceIDList(5) + "&service_ids=" + beardID + "&date=2026-06-10", wantParam: "service_ids"},
		{name: "duplicate service", query: "service_ids=" + cutID + "," + strings.ToUpper(cutID) + "&date=2026-06-10", wantParam: "service_ids[1]",
			wantMessage: "service_ids lists " + cutID + " more than once; give each service once"},
		{name: "invalid service", query: "service_ids=cut&date=2026-06-10", wantParam: "service_ids[0]",
			wantMessage: `service_ids[0] "cut" is not a valid UUID; use the form 123e4567-e89b-12d3-a456-426614174000`},
		{name: "second service invalid", query: "service_ids=" + cutID + ",beard&date=2026-06-10", wantParam: "service_ids[1]",
			wantMessage: `service_ids[1] "beard" is not a valid UUID; use the form 123e4567-e89b-12d3-a456-426614174000`},
		{name: "repeated parameter invalid", query: "service_ids=" + cutID + "&service_ids=beard&date=2026-06-10", wantParam: "service_ids[1]"},
		{name: "UUID without hyphens", query: "service_ids=c0000000000040008000000000000001&date=2026-06-10", wantParam: "service_ids[0]"},
		{name: "UUID in braces", query: "service_ids={" + cutID + "}&date=2026-06-10", wantParam: "service_ids[0]"},
		{name: "UUID with space", query: "service_ids=+" + cutID + "&date=2026-06-10", wantParam: "service_ids[0]"},
		{name: "nil service", query: "service_ids=" + uuid.Nil.String() + "&date=2026-06-10", wantParam: "service_ids[0]"},
		{name: "missing date", query: "service_ids=" + cutID, wantParam: "date",
			wantMessage: "date is missing; give the first local date as YYYY-MM-DD"},
		{name: "impossible date", query: "service_ids=" + cutID + "&date=2026-02-30", wantParam: "date",
			wantMessage: `date "2026-02-30" is not a valid calendar date; use YYYY-MM-DD`},
		{name: "unpadded date", query: "service_ids=" + cutID + "&date=2026-6-1", wantParam: "date"},
		{name: "non-leap leap day", query: "service_ids=" + cutID + "&date=2027-02-29", wantParam: "date"},
		{name: "date twice", query: base + "&date=2026-06-11", wantParam: "date",
			wantMessage: "date is given 2 times; give it once"},
		{name: "zero days", query: base + "&days=0", wantParam: "days",
			wantMessage: `days "0" is out of range; give a whole number from 1 to 31`},
		{name: "32 days", query: base + "&days=32", wantParam: "days"},
		{name: "negative days", query: base + "&days=-1", wantParam: "days",
			wantMessage: `days "-1" is out of range; give a whole number from 1 to 31`},
		{name: "fractional days", query: base + "&days=1.5", wantParam: "days",
			wantMessage: `days "1.5" is not a whole number written in digits; give a whole number from 1 to 31`},
		{name: "word days", query: base + "&days=abc", wantParam: "days"},
		{name: "signed days", query: base + "&days=%2B5", wantParam: "days"},
		{name: "empty days", query: base + "&days=", wantParam: "days"},
		{name: "huge days", query: base + "&days=99999999999999999999999", wantParam: "days"},
		{name: "invalid staff", query: base + "&staff_id=bob", wantParam: "staff_id"},
		{name: "empty staff", query: base + "&staff_id=", wantParam: "staff_id"},
		{name: "nil staff", query: base + "&staff_id=" + uuid.Nil.String(), wantParam: "staff_id"},
		{name: "empty zone", query: base + "&timezone=", wantParam: "timezone",
			wantMessage: "timezone is empty; give an IANA time zone name such as Europe/London, or leave it out"},
		{name: "Local zone", query: base + "&timezone=Local", wantParam: "timezone"},
		{name: "misspelt zone", query: base + "&timezone=Europe/Londn", wantParam: "timezone",
			wantMessage: `timezone "Europe/Londn" is not a known IANA time zone; use a name such as Europe/London`},
		{name: "offset zone", query: base + "&timezone=GMT-05:00", wantParam: "timezone",
			wantMessage: `timezone "GMT-05:00" is not an IANA time zone name; use a name such as Europe/London`},
		{name: "leading slash zone", query: base + "&timezone=/Europe/London", wantParam: "timezone"},
		{name: "trailing slash zone", query: base + "&timezone=Europe/London/", wantParam: "timezone"},
		{name: "parent directory zone", query: base + "&timezone=../etc/passwd", wantParam: "timezone"},
		{name: "system alias zone", query: base + "&timezone=posix/Europe/London", wantParam: "timezone"},
		{name: "localtime zone", query: base + "&timezone=localtime", wantParam: "timezone"},
		{name: "zone twice", query: base + "&timezone=UTC&timezone=UTC", wantParam: "timezone"},
		{name: "unknown parameter", query: base + "&servce_ids=x", wantParam: "servce_ids",
			wantMessage: `unknown query parameter "servce_ids"; use only service_ids, date, days, staff_id, timezone`},
		{name: "unknown parameters sorted", query: base + "&zz=1&aa=2", wantParam: "aa"},
		{name: "unknown before missing", query: "servce_ids=" + cutID + "&date=2026-06-10", wantParam: "servce_ids"},
		{name: "bad escape in value", query: "service_ids=" + cutID + "&date=2026-06-1%zz", wantParam: "date",
			wantMessage: `date value "2026-06-1%zz" is not valid URL encoding; percent-encode it`},
		{name: "bad escape in name", query: base + "&%zz=1", wantParam: ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQuery(tt.query)
			if err == nil {
				t.Fatalf("ParseQuery(%q) = %+v, want an error", tt.query, got)
			}

			var paramErr *ParamError
			if !errors.As(err, &paramErr) {
				t.Fatalf("ParseQuery(%q) error %v is a %T, want *ParamError", tt.query, err, err)
			}
			if paramErr.Param != tt.wantParam {
				t.Errorf("error names parameter %q, want %q", paramErr.Param, tt.wantParam)
			}
			if tt.wantMessage != "" && paramErr.Message != tt.wantMessage {
				t.Errorf("error message = %q, want %q", paramErr.Message, tt.wantMessage)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	values := url.Values{
		"service_ids": {cutID},
		"date":        {"2026-06-10"},
		"timezone":    {"America/New_York"},
	}

	got, err := Parse(values)

	if err != nil {
		t.Fatalf("Parse returned error: %v", err)
	}
	if want := (slots.Date{Year: 2026, Month: time.June, Day: 10}); got.Date != want {
		t.Errorf("date = %v, want %v", got.Date, want)
	}
	if got.TimeZone == nil || got.TimeZone.String() != "America/New_York" {
		t.Errorf("time zone = %v, want America/New_York", got.TimeZone)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"service_ids=" + cutID + "&date=2026-06-10",
		"service_ids=" + cutID + "," + beardID + "&date=2028-02-29&days=31&staff_id=" + staffID + "&timezone=Europe/London",
		"service_ids=" + cutID + "&date=2026-02-30&days=0",
		"service_ids=&date=&days=&staff_id=&timezone=",
		"timezone=Etc/GMT%2B5&days=1.5",
		"%zz=1&date=%",
		"a=1&a=2;b=3",
	}
	for _, seed := range seeds {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		request, err := ParseQuery(raw)
		if err != nil {
			if _, ok := err.(*ParamError); !ok {
				t.Fatalf("ParseQuery(%q) error %v is a %T, want *ParamError", raw, err, err)
			}
			return
		}

		if n := len(request.ServiceIDs); n < 1 || n > MaxServices {
			t.Errorf("ParseQuery(%q) accepted %d service ids", raw, n)
		}
		seen := map[uuid.UUID]bool{}
		for _, id := range request.ServiceIDs {
			if id == uuid.Nil || seen[id] {
				t.Errorf("ParseQuery(%q) accepted service id %s that is nil or repeated", raw, id)
			}
			seen[id] = true
		}
		if request.Days < 1 || request.Days > MaxDays {
			t.Errorf("ParseQuery(%q) accepted days %d", raw, request.Days)
		}
		if again, err := slots.ParseDate(request.Date.String()); err != nil || again != request.Date {
			t.Errorf("ParseQuery(%q) accepted date %v that does not round-trip", raw, request.Date)
		}
	})
}
