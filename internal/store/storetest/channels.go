package storetest

import (
	"context"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// testChannelSettings checks that a kind's own settings (Config) and the
// signature scheme survive the round trip, and that channels written
// before Config existed read back unchanged.
func testChannelSettings(t *testing.T, open OpenFunc) {
	s := open(t)
	org := createOrg(t, s, "acme")
	got, err := s.OrgGet(t.Context(), org.ID)
	ok(t, "OrgGet", err)
	same(t, "OrgGet", got, org)
	_, err = s.OrgGet(t.Context(), shiplog.NewID())
	wantErr(t, "OrgGet of an unknown id", err, store.ErrNotFound)

	mk := func(name, scheme string, config map[string]any) *shiplog.Channel {
		c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: org.ID, Kind: shiplog.ChannelWebhook, Name: name, Enabled: true,
			URL: "https://hooks.example.com/" + name, SignatureScheme: scheme, Config: config,
			Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: t0, UpdatedAt: t0}
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ChannelCreate(ctx, c) })
		return c
	}
	plain := mk("plain", "versioner", nil)
	withConfig := mk("qovery", "standard-webhooks", map[string]any{"format": "qovery"})
	for _, c := range []*shiplog.Channel{plain, withConfig} {
		back, err := s.ChannelGet(t.Context(), org.ID, c.ID)
		ok(t, "ChannelGet", err)
		if back.SignatureScheme != c.SignatureScheme || len(back.Config) != len(c.Config) || back.Config["format"] != c.Config["format"] {
			t.Errorf("%s: scheme %q config %v, want %q %v", c.Name, back.SignatureScheme, back.Config, c.SignatureScheme, c.Config)
		}
	}
	// Changing the settings, and dropping them.
	withConfig.Config = map[string]any{"format": "clever"}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ChannelUpdate(ctx, withConfig) })
	back, err := s.ChannelGet(t.Context(), org.ID, withConfig.ID)
	ok(t, "ChannelGet", err)
	if back.Config["format"] != "clever" || back.SignatureScheme != "standard-webhooks" {
		t.Errorf("after update: %q %v", back.SignatureScheme, back.Config)
	}
	withConfig.Config = nil
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ChannelUpdate(ctx, withConfig) })
	back, err = s.ChannelGet(t.Context(), org.ID, withConfig.ID)
	ok(t, "ChannelGet", err)
	if len(back.Config) != 0 || back.SignatureScheme != "standard-webhooks" {
		t.Errorf("after dropping the config: %q %v", back.SignatureScheme, back.Config)
	}
}
