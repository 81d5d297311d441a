package slotquery

import (
	"errors"
	"time"
)

// ErrZoneName means a time zone is not an IANA time zone name that this build knows.
var ErrZoneName = errors.New("not a known IANA time zone name")

// LoadZone loads a time zone by its IANA name, such as Europe/London, with the same rule as the
// timezone parameter: "", "Local", offsets such as GMT-05:00, and names that the zone database
// does not hold are ErrZoneName. The binary must import time/tzdata where the operating system
// has no zone files.
func LoadZone(name string) (*time.Location, error) {
	if !isZoneName(name) {
		return nil, ErrZoneName
	}
	zone, err := time.LoadLocation(name)
	if err != nil {
		return nil, ErrZoneName
	}
	return zone, nil
}
