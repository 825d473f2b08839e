package dora

import "time"

// Band is a DORA performance level.
type Band string

const (
	BandElite  Band = "elite"
	BandHigh   Band = "high"
	BandMedium Band = "medium"
	BandLow    Band = "low"
	// BandNone is the band of a metric with nothing to measure: no
	// deployment finished in the window, or no duration sample.
	BandNone Band = "none"
)

// The thresholds follow the performance clusters of the Accelerate State of
// DevOps report 2023 (DORA), with the gaps and overlaps between its
// published ranges closed so that every value has exactly one band; the
// elite cut-offs for lead time (2021: under an hour) and the change failure
// rate ranges (2021–2022: 0–15 %, 16–30 %) changed across the 2021–2023
// reports. docs/dora.md tabulates the sources and these choices.
const (
	day   = 24 * time.Hour
	week  = 7 * day
	month = 30 * day
)

// FrequencyBand bands completed deployments per day: elite at least daily
// (on demand), high at least weekly, medium at least monthly (every 30
// days), low less often.
func FrequencyBand(perDay float64) Band {
	switch {
	case perDay >= 1:
		return BandElite
	case perDay >= 1.0/7:
		return BandHigh
	case perDay >= 1.0/30:
		return BandMedium
	}
	return BandLow
}

// LeadTimeBand bands the median lead time: elite under a day, high under a
// week, medium under 30 days, low beyond.
func LeadTimeBand(median time.Duration) Band {
	switch {
	case median < day:
		return BandElite
	case median < week:
		return BandHigh
	case median < month:
		return BandMedium
	}
	return BandLow
}

// FailureRateBand bands the change failure rate (0–1): the 2023 clusters'
// 5 %, 10 % and 15 % are the upper bounds (inclusive) of elite, high and
// medium; above 15 % is low.
func FailureRateBand(rate float64) Band {
	switch {
	case rate <= 0.05:
		return BandElite
	case rate <= 0.10:
		return BandHigh
	case rate <= 0.15:
		return BandMedium
	}
	return BandLow
}

// RestoreBand bands the median time to restore: elite under an hour, high
// under a day, medium under a week, low beyond.
func RestoreBand(median time.Duration) Band {
	switch {
	case median < time.Hour:
		return BandElite
	case median < day:
		return BandHigh
	case median < week:
		return BandMedium
	}
	return BandLow
}
