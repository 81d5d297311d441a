package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestAppendTimeMatchesFormat(t *testing.T) {
	zones := []string{"Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "UTC", "America/St_Johns"}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range zones {
		zone, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 2000 {
			instant := time.Unix(1_700_000_000+rng.Int64N(400_000_000), 0).In(zone)
			want := instant.Format(offsetTime)
			if got := string(appendTime(nil, instant)); got != want {
				t.Fatalf("appendTime(%s) = %s, want %s", name, got, want)
			}
		}
	}
}

func TestAppendUUIDMatchesString(t *testing.T) {
	for range 100 {
		id := uuid.New()
		if got := string(appendUUID(nil, id)); got != id.String() {
			t.Fatalf("appendUUID = %s, want %s", got, id)
		}
	}
}
