package timestamp

import (
	"strings"
	"testing"
	"time"
)

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw  string
		want time.Time
	}{
		{raw: "2026-05-12T09:00:00+01:00", want: time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)},
		{raw: "2026-05-12T08:00:00Z", want: time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)},
		{raw: "2026-05-12T03:00:00-05:00", want: time.Date(2026, 5, 12, 8, 0, 0, 0, time.UTC)},
		{raw: "2028-02-29T23:59:59+23:59", want: time.Date(2028, 2, 29, 0, 0, 59, 0, time.UTC)},
		{raw: "2026-05-12T08:00:00.25Z", want: time.Date(2026, 5, 12, 8, 0, 0, 250_000_000, time.UTC)},
	}
	for _, tc := range cases {
		got, err := Parse("starts_at", tc.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.raw, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("Parse(%q) = %s, want %s", tc.raw, got, tc.want)
		}
	}
}

func TestParseExplainsRejection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		raw  string
		want string
	}{
		{name: "missing", raw: "",
			want: "starts_at is required; send an RFC 3339 time with an offset"},
		{name: "february 30", raw: "2026-02-30T09:00:00+00:00",
			want: `starts_at "2026-02-30T09:00:00+00:00" is not a valid calendar date because February 2026 has 28 days`},
		{name: "february 29 outside a leap year", raw: "2027-02-29T09:00:00Z",
			want: "is not a valid calendar date because February 2027 has 28 days"},
		{name: "april 31", raw: "2026-04-31T09:00:00Z",
			want: "is not a valid calendar date because April 2026 has 30 days"},
		{name: "month 13", raw: "2026-13-01T09:00:00Z",
			want: "is not a valid calendar date because there is no month 13"},
		{name: "day 00", raw: "2026-05-00T09:00:00Z",
			want: "is not a valid calendar date because there is no day 00"},
		{name: "hour 24", raw: "2026-05-12T24:00:00Z",
			want: "is not a valid time of day"},
		{name: "minute 60", raw: "2026-05-12T09:60:00Z",
			want: "is not a valid time of day"},
		{name: "offset hour 25", raw: "2026-12-11T09:00:00+25:00",
			want: `starts_at "2026-12-11T09:00:00+25:00" has the offset +25:00, which is out of range; an offset runs from -23:59 to +23:59`},
		{name: "offset minute 60", raw: "2026-12-11T09:00:00+05:60",
			want: "has the offset +05:60, which is out of range"},
		{name: "no offset", raw: "2026-05-12T09:00:00",
			want: `starts_at "2026-05-12T09:00:00" has no offset; add Z for UTC or the local offset`},
		{name: "no offset after a fraction", raw: "2026-05-12T09:00:00.5",
			want: "has no offset"},
		{name: "offset without colon", raw: "2026-05-12T09:00:00+0100",
			want: `has the offset "+0100", which is not in the form Z, +hh:mm or -hh:mm`},
		{name: "plus decoded as space", raw: "2026-05-12T09:00:00 01:00",
			want: `has the offset " 01:00", which is not in the form Z, +hh:mm or -hh:mm`},
		{name: "lower-case z", raw: "2026-05-12T09:00:00z",
			want: `has the offset "z"`},
		{name: "empty fraction", raw: "2026-05-12T09:00:00.Z",
			want: "has a full stop without fraction digits"},
		{name: "date only", raw: "2026-05-12",
			want: `starts_at "2026-05-12" is a date without a time of day`},
		{name: "no seconds", raw: "2026-05-12T09:00+01:00",
			want: "is not an RFC 3339 time; use the form 2026-05-12T09:00:00+01:00"},
		{name: "one-digit hour", raw: "2026-05-12T9:00:00+01:00",
			want: "is not an RFC 3339 time"},
		{name: "space for T", raw: "2026-05-12 09:00:00Z",
			want: "is not an RFC 3339 time"},
		{name: "words", raw: "tomorrow at nine",
			want: `starts_at "tomorrow at nine" is not an RFC 3339 time`},
		{name: "unix seconds", raw: "1778572800",
			want: "is not an RFC 3339 time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("starts_at", tc.raw)
			if err == nil {
				t.Fatalf("Parse(%q) accepted it", tc.raw)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) error\n  %s\nwant it to contain\n  %s", tc.raw, err, tc.want)
			}
			if strings.Contains(err.Error(), "must be an RFC 3339 time with an offset") {
				t.Errorf("Parse(%q) error %q still blames a missing offset in general terms", tc.raw, err)
			}
		})
	}
}

// FuzzParse checks that Parse never accepts what time.Parse rejects, and that both read the
// same instant.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"2026-05-12T09:00:00+01:00", "2026-02-30T09:00:00Z", "2026-12-11T09:00:00+25:00",
		"2026-05-12T09:00:00.123456789-23:59", "2026-05-12T9:00:00Z", "2026-05-12T09:00:00,5Z", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Parse("at", raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "at ") {
				t.Errorf("Parse(%q) error %q does not start with the field name", raw, err)
			}
			return
		}
		want, stdErr := time.Parse(time.RFC3339Nano, raw)
		if stdErr != nil {
			t.Fatalf("Parse(%q) accepted what time.Parse rejects: %v", raw, stdErr)
		}
		if !got.Equal(want) {
			t.Errorf("Parse(%q) = %s, time.Parse = %s", raw, got, want)
		}
	})
}
