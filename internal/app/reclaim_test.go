package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/secrets"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
)

// deadProcessDelivery leaves in the database what a server killed in the
// middle of a send leaves: a queued delivery leased to it for an hour.
func deadProcessDelivery(t *testing.T, dbURL, orgName, channelID string) (orgID, id string) {
	t.Helper()
	ctx := context.Background()
	key, err := secrets.ParseKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(ctx, dbURL, nil, sqlstore.WithCipher(box))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	lease := now.Add(time.Hour)
	d := &shiplog.Delivery{ID: shiplog.NewID(), ChannelID: channelID, ChannelKind: shiplog.ChannelWebhook,
		EventID: shiplog.NewID(), EventType: "deployment.completed", State: shiplog.DeliveryQueued, MaxAttempts: 3,
		NextAttempt: now, LeaseUntil: &lease, Payload: []byte(`{"left":"by a dead process"}`), CreatedAt: now, UpdatedAt: now}
	err = st.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		o, err := tx.OrgGetByName(ctx, orgName)
		if err != nil {
			return err
		}
		d.OrgID = o.ID
		return tx.DeliveryInsert(ctx, d)
	})
	if err != nil {
		t.Fatal(err)
	}
	return d.OrgID, d.ID
}

// Defect: after kill -9 and a restart on SQLite, the deliveries the dead
// process held waited for their leases (30 s by default) to expire. The
// restarted server holds the database's lock file alone, so it knows
// their holder is gone and sends them at once: here a lease of an hour.
func TestSQLiteRestartSendsDeadProcessDeliveriesAtOnce(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "shiplog.db")
	rc := newReceiver(t)
	s1 := start(t, dbURL)
	key := s1.org("acme")
	c := channel(t, s1, s1.admin(key), map[string]any{"kind": "webhook", "name": "hook", "url": rc.URL,
		"events": []string{"deployment.completed"}})
	s1.stop()
	_, id := deadProcessDelivery(t, dbURL, "acme", c["id"].(string))

	start(t, dbURL)
	h := rc.next(t)
	if got := h.header.Get("Webhook-Id"); got != id {
		t.Fatalf("restarted server sent %q, want the dead process's delivery %q", got, id)
	}
}

// The other side: while another server runs on the same SQLite file (it
// holds the lock), a server starting next to it leaves that server's
// leases alone.
func TestSQLiteServerStartLeavesLiveServersLeases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "shiplog.db")
	rc := newReceiver(t)
	s1 := start(t, dbURL)
	key := s1.org("acme")
	c := channel(t, s1, s1.admin(key), map[string]any{"kind": "webhook", "name": "hook", "url": rc.URL,
		"events": []string{"deployment.completed"}})
	s1.stop()
	orgID, id := deadProcessDelivery(t, dbURL, "acme", c["id"].(string))
	live, sole, err := sqlite.LockServer(filepath.Join(dir, "shiplog.db"), func() error { return nil })
	if err != nil || !sole {
		t.Fatalf("lock as the live server: sole=%v err=%v", sole, err)
	}
	defer live.Close()

	s2 := start(t, dbURL)
	d, err := s2.app.Store.DeliveryGet(context.Background(), orgID, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.LeaseUntil == nil {
		t.Fatal("a server started beside a live one cleared that server's lease")
	}
}
