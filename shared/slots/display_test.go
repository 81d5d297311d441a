package slots

import (
	"math"
	"strings"
	"testing"
)

func TestDisplayDuration(t *testing.T) {
	tests := []struct {
		minutes int
		want    string
	}{
		{minutes: 0, want: "0 mins"},
		{minutes: 1, want: "1 min"},
		{minutes: 30, want: "30 mins"},
		{minutes: 45, want: "45 mins"},
		{minutes: 60, want: "1 hr"},
		{minutes: 61, want: "1 hr 1 min"},
		{minutes: 75, want: "1 hr 15 mins"},
		{minutes: 120, want: "2 hrs"},
		{minutes: 150, want: "2 hrs 30 mins"},
		{minutes: 1441, want: "24 hrs 1 min"},
		{minutes: -90, want: "-1 hr 30 mins"},
	}

	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := DisplayDuration(tt.minutes); got != tt.want {
				t.Errorf("DisplayDuration(%d) = %q, want %q", tt.minutes, got, tt.want)
			}
		})
	}
}

func TestDisplayDurationSmallestInt(t *testing.T) {
	got := DisplayDuration(math.MinInt)
	if !strings.HasPrefix(got, "-") || strings.HasPrefix(got, "--") {
		t.Errorf("DisplayDuration(math.MinInt) = %q, want one leading minus sign", got)
	}
}
