package delivery_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

var (
	_ delivery.Clock = (*fakeclock.Clock)(nil)
	_ shiplog.Clock  = (*fakeclock.Clock)(nil)
)

func TestDefaultScheduleIsTheSeeds(t *testing.T) {
	t.Parallel()
	// "3 attempts with exponential backoff (1 s, 2 s)".
	if want := []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(delivery.DefaultSchedule, want) {
		t.Fatalf("DefaultSchedule = %v, want %v", delivery.DefaultSchedule, want)
	}
	if got := delivery.Schedule(&shiplog.Channel{}); !slices.Equal(got, delivery.DefaultSchedule) {
		t.Errorf("Schedule(no custom schedule) = %v", got)
	}
	custom := []time.Duration{5 * time.Second, 5 * time.Minute}
	if got := delivery.Schedule(&shiplog.Channel{RetrySchedule: custom}); !slices.Equal(got, custom) {
		t.Errorf("Schedule(custom) = %v", got)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	now := fakeclock.Epoch
	lease := now.Add(30 * time.Second)
	def := delivery.DefaultSchedule
	const (
		queued    = shiplog.DeliveryQueued
		succeeded = shiplog.DeliverySucceeded
		failed    = shiplog.DeliveryFailed
	)
	retry := func(err string) delivery.Outcome { return delivery.Outcome{Retryable: true, Err: err} }
	tests := []struct {
		name          string
		attempts, max int // Attempts already counts this attempt
		schedule      []time.Duration
		o             delivery.Outcome
		lastError     string // before Decide
		wantState     shiplog.DeliveryState
		wantNext      time.Duration // after now; only for queued
		wantLastError string
	}{
		{name: "success on the first attempt", attempts: 1, max: 3, schedule: def,
			o: delivery.Outcome{OK: true, StatusCode: 200}, wantState: succeeded},
		{name: "success clears the previous error", attempts: 3, max: 3, schedule: def,
			o: delivery.Outcome{OK: true, StatusCode: 204}, lastError: "HTTP 500", wantState: succeeded},
		{name: "first retryable failure waits schedule[0]", attempts: 1, max: 3, schedule: def,
			o: retry("HTTP 500 Internal Server Error"), wantState: queued, wantNext: time.Second,
			wantLastError: "HTTP 500 Internal Server Error"},
		{name: "second retryable failure waits schedule[1]", attempts: 2, max: 3, schedule: def,
			o: retry("network error: connection refused"), wantState: queued, wantNext: 2 * time.Second,
			wantLastError: "network error: connection refused"},
		{name: "attempts beyond the schedule reuse its last delay", attempts: 4, max: 6, schedule: def,
			o: retry("HTTP 502"), wantState: queued, wantNext: 2 * time.Second, wantLastError: "HTTP 502"},
		{name: "attempt count 0 is treated as the first", attempts: 0, max: 3, schedule: def,
			o: retry("x"), wantState: queued, wantNext: time.Second, wantLastError: "x"},
		{name: "custom schedule", attempts: 2, max: 3, schedule: []time.Duration{5 * time.Second, 5 * time.Minute},
			o: retry("HTTP 503"), wantState: queued, wantNext: 5 * time.Minute, wantLastError: "HTTP 503"},
		{name: "Retry-After larger than the schedule is used", attempts: 1, max: 3, schedule: def,
			o:         delivery.Outcome{Retryable: true, RetryAfter: 7 * time.Second, StatusCode: 429, Err: "HTTP 429"},
			wantState: queued, wantNext: 7 * time.Second, wantLastError: "HTTP 429"},
		{name: "Retry-After smaller than the schedule is ignored", attempts: 2, max: 3, schedule: def,
			o:         delivery.Outcome{Retryable: true, RetryAfter: 500 * time.Millisecond, Err: "HTTP 429"},
			wantState: queued, wantNext: 2 * time.Second, wantLastError: "HTTP 429"},
		{name: "Retry-After is bounded by MaxRetryAfter", attempts: 1, max: 3, schedule: def,
			o:         delivery.Outcome{Retryable: true, RetryAfter: 30 * 24 * time.Hour, Err: "HTTP 503"},
			wantState: queued, wantNext: delivery.MaxRetryAfter, wantLastError: "HTTP 503"},
		{name: "bounding Retry-After never makes the retry earlier than the schedule", attempts: 1, max: 3,
			schedule:  []time.Duration{2 * time.Hour, 2 * time.Hour},
			o:         delivery.Outcome{Retryable: true, RetryAfter: 3 * time.Hour, Err: "HTTP 429"},
			wantState: queued, wantNext: 2 * time.Hour, wantLastError: "HTTP 429"},
		{name: "retryable with no attempts left fails", attempts: 3, max: 3, schedule: def,
			o: retry("HTTP 503 Service Unavailable"), wantState: failed, wantLastError: "HTTP 503 Service Unavailable"},
		{name: "retryable past MaxAttempts fails", attempts: 4, max: 3, schedule: def,
			o: retry("HTTP 503"), wantState: failed, wantLastError: "HTTP 503"},
		{name: "Retry-After does not extend a delivery with no attempts left", attempts: 3, max: 3, schedule: def,
			o: delivery.Outcome{Retryable: true, RetryAfter: time.Minute, Err: "HTTP 429"}, wantState: failed,
			wantLastError: "HTTP 429"},
		{name: "terminal 4xx fails on the first attempt", attempts: 1, max: 3, schedule: def,
			o: delivery.Outcome{StatusCode: 400, Err: "HTTP 400 Bad Request"}, wantState: failed,
			wantLastError: "HTTP 400 Bad Request"},
		{name: "disable answer fails", attempts: 1, max: 3, schedule: def,
			o: delivery.Outcome{Disable: true, StatusCode: 410, Err: "HTTP 410 Gone"}, wantState: failed,
			wantLastError: "HTTP 410 Gone"},
		{name: "terminal failure ignores Retry-After", attempts: 1, max: 3, schedule: def,
			o: delivery.Outcome{RetryAfter: time.Minute, StatusCode: 400, Err: "HTTP 400"}, wantState: failed,
			wantLastError: "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			created := now.Add(-time.Hour)
			d := &shiplog.Delivery{ID: "d1", State: queued, Attempts: tt.attempts, MaxAttempts: tt.max,
				NextAttempt: created, LeaseUntil: &lease, LastError: tt.lastError, CreatedAt: created, UpdatedAt: created}
			delivery.Decide(d, tt.schedule, tt.o, now)

			if d.State != tt.wantState {
				t.Fatalf("State = %s, want %s", d.State, tt.wantState)
			}
			if d.LastError != tt.wantLastError {
				t.Errorf("LastError = %q, want %q", d.LastError, tt.wantLastError)
			}
			if !d.UpdatedAt.Equal(now) {
				t.Errorf("UpdatedAt = %v, want now", d.UpdatedAt)
			}
			if d.Attempts != tt.attempts || d.MaxAttempts != tt.max {
				t.Errorf("Decide changed the attempt counts to %d/%d", d.Attempts, d.MaxAttempts)
			}
			if tt.wantState == queued {
				if got := d.NextAttempt.Sub(now); got != tt.wantNext {
					t.Errorf("next attempt in %v, want %v", got, tt.wantNext)
				}
				if d.CompletedAt != nil {
					t.Errorf("CompletedAt = %v on a queued delivery", d.CompletedAt)
				}
				// The worker extends the lease past the next attempt itself.
				if d.LeaseUntil == nil || !d.LeaseUntil.Equal(lease) {
					t.Errorf("LeaseUntil = %v, want it left for the worker (%v)", d.LeaseUntil, lease)
				}
				return
			}
			if d.CompletedAt == nil || !d.CompletedAt.Equal(now) {
				t.Errorf("CompletedAt = %v, want now", d.CompletedAt)
			}
			if d.LeaseUntil != nil {
				t.Errorf("LeaseUntil = %v on a finished delivery, want nil", d.LeaseUntil)
			}
			if !d.NextAttempt.Equal(created) {
				t.Errorf("NextAttempt moved to %v on a finished delivery", d.NextAttempt)
			}
		})
	}
}
