package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/postgres"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

// A released delivery wakes listeners in other processes at commit, and
// not before.
func TestReleaseNotifiesListeners(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := postgres.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	woke := make(chan struct{}, 10)
	go postgres.Listen(ctx, url, slogDiscard(), func() { woke <- struct{}{} })
	// LISTEN is asynchronous: keep releasing until the listener hears one.
	deadline := time.After(30 * time.Second)
	for {
		if err := st.Write(ctx, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryRelease(ctx, nil) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woke:
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("listener never woke")
		}
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
