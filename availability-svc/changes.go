package main

import (
	"log/slog"
	"time"

	"github.com/setora/rest/availability-svc/cache"
	"github.com/setora/rest/shared/auth"
	"github.com/setora/rest/shared/notify"
	"github.com/setora/rest/shared/slots"
)

// changeHandler applies change notifications to this replica's caches.
type changeHandler struct {
	days      *cache.Cache
	catalogue *cache.Catalogue
	auth      *auth.Authenticator
	metrics   *serviceMetrics
	log       *slog.Logger
}

func (h *changeHandler) Connected(up bool) {
	if up {
		h.catalogue.Purge()
		h.auth.InvalidateAll()
	}
	h.days.SetListening(up)
	h.metrics.setListening(up)
}

func (h *changeHandler) Changed(change notify.Change) {
	h.metrics.notifications.Inc()
	switch change.Kind {
	case notify.KindSchedule:
		h.evictLocations(change)
	case notify.KindCatalogue:
		h.catalogue.InvalidateOrganisation(change.OrganisationID)
		h.evictLocations(change)
	case notify.KindOrganisation:
		h.auth.InvalidateOrganisation(change.OrganisationID)
		h.catalogue.InvalidateOrganisation(change.OrganisationID)
	default:
		h.log.Warn("unknown change kind; purging the cache", "kind", change.Kind)
		h.days.Purge()
		h.catalogue.Purge()
	}
	if !change.CommittedAt.IsZero() {
		h.metrics.invalidationLag.Observe(time.Since(change.CommittedAt).Seconds())
	}
}

func (h *changeHandler) evictLocations(change notify.Change) {
	dates := make([]slots.Date, 0, len(change.Dates))
	for _, s := range change.Dates {
		d, err := slots.ParseDate(s)
		if err != nil {
			change.AllDates = true
			break
		}
		dates = append(dates, d)
	}
	for _, loc := range change.LocationIDs {
		if change.AllDates {
			h.days.EvictLocation(loc)
		} else {
			h.days.EvictDates(loc, dates)
		}
	}
}
