package slots

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    Date
		wantErr bool
	}{
		{name: "ordinary date", input: "2026-06-10", want: date(2026, time.June, 10)},
		{name: "leap day", input: "2028-02-29", want: date(2028, time.February, 29)},
		{name: "leap day of 2000", input: "2000-02-29", want: date(2000, time.February, 29)},
		{name: "first year", input: "0001-01-01", want: date(1, time.January, 1)},
		{name: "last year", input: "9998-12-31", want: date(9998, time.December, 31)},
		{name: "thirty-first of April", input: "2026-04-31", wantErr: true},
		{name: "leap day of common year", input: "2027-02-29", wantErr: true},
		{name: "leap day of 1900", input: "1900-02-29", wantErr: true},
		{name: "thirtieth of February", input: "2026-02-30", wantErr: true},
		{name: "month 13", input: "2026-13-01", wantErr: true},
		{name: "month 0", input: "2026-00-10", wantErr: true},
		{name: "day 0", input: "2026-06-00", wantErr: true},
		{name: "unpadded fields", input: "2026-6-1", wantErr: true},
		{name: "year 0", input: "0000-01-01", wantErr: true},
		{name: "year 9999", input: "9999-01-01", wantErr: true},
		{name: "empty", input: "", wantErr: true},
		{name: "slashes", input: "2026/06/10", wantErr: true},
		{name: "sign in year", input: "+026-06-10", wantErr: true},
		{name: "sign in day", input: "2026-06-+1", wantErr: true},
		{name: "leading space", input: " 2026-06-10", wantErr: true},
		{name: "trailing time", input: "2026-06-10T00:00", wantErr: true},
		{name: "non-ASCII digit", input: "2026-06-1٠", wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.input)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDate(%q) = %v, want an error", tt.input, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q) returned error: %v", tt.input, err)
			}
			if got != tt.want {
				t.Errorf("ParseDate(%q) = %+v, want %+v", tt.input, got, tt.want)
			}
			if got.String() != tt.input {
				t.Errorf("ParseDate(%q).String() = %q, want the input back", tt.input, got.String())
			}
		})
	}
}

func TestParseDateMessages(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{input: "2026-02-30", want: `date "2026-02-30" is not a valid calendar date; use YYYY-MM-DD`},
		{input: "2026-6-1", want: `date "2026-6-1" is not in YYYY-MM-DD format`},
		{input: "0000-01-01", want: `date "0000-01-01" is out of range; use a year from 0001 to 9998`},
	}

	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			_, err := ParseDate(tt.input)
			if err == nil {
				t.Fatalf("ParseDate(%q) returned no error", tt.input)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseDate(%q) error = %q, want %q", tt.input, err.Error(), tt.want)
			}
		})
	}
}

func FuzzParseDate(f *testing.F) {
	for _, seed := range []string{"2026-06-10", "2028-02-29", "2027-02-29", "9998-12-31", "2026-6-1", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		d, err := ParseDate(input)
		if err != nil {
			return
		}
		if d.String() != input {
			t.Errorf("ParseDate(%q).String() = %q, want the input back", input, d.String())
		}
		if next := d.AddDays(31); next.Year > MaxYear+1 {
			t.Errorf("%v plus 31 days is %v, past year %d", d, next, MaxYear+1)
		}
	})
}

func TestDateAddDays(t *testing.T) {
	tests := []struct {
		name string
		from Date
		days int
		want Date
	}{
		{name: "same month", from: date(2026, time.June, 10), days: 5, want: date(2026, time.June, 15)},
		{name: "into next year", from: date(2026, time.December, 31), days: 1, want: date(2027, time.January, 1)},
		{name: "onto leap day", from: date(2028, time.February, 28), days: 1, want: date(2028, time.February, 29)},
		{name: "past leap day", from: date(2028, time.February, 29), days: 1, want: date(2028, time.March, 1)},
		{name: "backwards over a month", from: date(2026, time.March, 1), days: -1, want: date(2026, time.February, 28)},
		{name: "thirty-one days from last year", from: date(9998, time.December, 31), days: 31, want: date(9999, time.January, 31)},
		{name: "zero", from: date(2026, time.June, 10), days: 0, want: date(2026, time.June, 10)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.from.AddDays(tt.days); got != tt.want {
				t.Errorf("%v.AddDays(%d) = %v, want %v", tt.from, tt.days, got, tt.want)
			}
		})
	}
}

func TestDateWeekday(t *testing.T) {
	tests := []struct {
		day  Date
		want time.Weekday
	}{
		{day: date(2026, time.March, 29), want: time.Sunday},
		{day: date(2028, time.February, 29), want: time.Tuesday},
		{day: date(1, time.January, 1), want: time.Monday},
	}

	for _, tt := range tests {
		t.Run(tt.day.String(), func(t *testing.T) {
			if got := tt.day.Weekday(); got != tt.want {
				t.Errorf("%v.Weekday() = %v, want %v", tt.day, got, tt.want)
			}
		})
	}
}

func TestDateOf(t *testing.T) {
	tests := []struct {
		name    string
		instant string
		tz      *time.Location
		want    Date
	}{
		{name: "London summer after UTC midnight", instant: "2026-06-09T23:30:00Z", tz: london, want: date(2026, time.June, 10)},
		{name: "London winter at UTC midnight", instant: "2026-01-09T23:30:00Z", tz: london, want: date(2026, time.January, 9)},
		{name: "New York evening", instant: "2026-06-10T02:00:00Z", tz: newYork, want: date(2026, time.June, 9)},
		{name: "nil zone is UTC", instant: "2026-06-09T23:30:00-01:00", tz: nil, want: date(2026, time.June, 10)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DateOf(instant(t, tt.instant), tt.tz); got != tt.want {
				t.Errorf("DateOf(%s) = %v, want %v", tt.instant, got, tt.want)
			}
		})
	}
}

func TestDateCompare(t *testing.T) {
	tests := []struct {
		a, b Date
		want int
	}{
		{a: date(2026, time.June, 10), b: date(2026, time.June, 10), want: 0},
		{a: date(2026, time.June, 9), b: date(2026, time.June, 10), want: -1},
		{a: date(2026, time.July, 1), b: date(2026, time.June, 30), want: 1},
		{a: date(2025, time.December, 31), b: date(2026, time.January, 1), want: -1},
	}

	for _, tt := range tests {
		t.Run(tt.a.String()+" vs "+tt.b.String(), func(t *testing.T) {
			if got := tt.a.Compare(tt.b); got != tt.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
