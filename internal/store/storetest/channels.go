package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// testChannelSettings checks that a kind's own settings (Config) survive
// the round trip, changed and dropped.
func testChannelSettings(t *testing.T, open OpenFunc) {
	s := open(t)
	org := createOrg(t, s, "acme")
	got, err := s.OrgGet(t.Context(), org.ID)
	ok(t, "OrgGet", err)
	same(t, "OrgGet", got, org)
	_, err = s.OrgGet(t.Context(), shiplog.NewID())
	wantErr(t, "OrgGet of an unknown id", err, store.ErrNotFound)

	mk := func(name string, config map[string]any) *shiplog.Channel {
		c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: org.ID, Kind: shiplog.ChannelWebhook, Name: name, Enabled: true,
			URL: "https://hooks.example.com/" + name, Config: config,
			Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: t0, UpdatedAt: t0}
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ChannelCreate(ctx, c) })
		return c
	}
	plain := mk("plain", nil)
	withConfig := mk("qovery", map[string]any{"signature_scheme": "standard-webhooks", "format": "qovery"})
	for _, c := range []*shiplog.Channel{plain, withConfig} {
		back, err := s.ChannelGet(t.Context(), org.ID, c.ID)
		ok(t, "ChannelGet", err)
		if back.URL != c.URL || len(back.Config) != len(c.Config) || back.Setting("format") != c.Setting("format") ||
			back.Setting("signature_scheme") != c.Setting("signature_scheme") {
			t.Errorf("%s: url %q config %v, want %q %v", c.Name, back.URL, back.Config, c.URL, c.Config)
		}
	}
	// Changing the settings, and dropping them.
	withConfig.Config = map[string]any{"signature_scheme": "standard-webhooks", "format": "clever",
		"recipients": []string{"a@example.com"}}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ChannelUpdate(ctx, withConfig) })
	back, err := s.ChannelGet(t.Context(), org.ID, withConfig.ID)
	ok(t, "ChannelGet", err)
	if back.Setting("format") != "clever" || back.Setting("signature_scheme") != "standard-webhooks" ||
		!slices.Equal(back.Settings("recipients"), []string{"a@example.com"}) {
		t.Errorf("after update: %v", back.Config)
	}
	withConfig.Config = nil
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ChannelUpdate(ctx, withConfig) })
	back, err = s.ChannelGet(t.Context(), org.ID, withConfig.ID)
	ok(t, "ChannelGet", err)
	if len(back.Config) != 0 {
		t.Errorf("after dropping the config: %v", back.Config)
	}
}
