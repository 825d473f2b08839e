package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// testOrgConfig: OrgConfig is served from memory, so every change to what
// it holds must be seen at once — by the store that made it and by another
// store on the same database (a second replica), in its write
// transactions and on its read pool — and a change rolled back must not be.
func testOrgConfig(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"EveryChangeSeenByBothReplicas": func(t *testing.T) { testOrgConfigChanges(t, open) },
		"RolledBackChangeNotKept":       func(t *testing.T) { testOrgConfigRollback(t, open(t)) },
	})
}

// view is what a test compares of an OrgConfig.
type configView struct {
	Rules    []string // name/status
	Skip     string
	Channels []string // name, then its events
	Failing  []string // names of channels failing since some time
}

func viewOf(c *store.OrgConfig) configView {
	v := configView{Rules: []string{}, Channels: []string{}}
	for _, r := range c.Rules {
		v.Rules = append(v.Rules, r.Name+"/"+r.Status)
	}
	if c.Settings != nil {
		v.Skip = string(c.Settings.SkipPreflightChecks)
	}
	for _, ch := range c.Channels {
		evs := []string{}
		for _, e := range ch.Events {
			evs = append(evs, string(e))
		}
		slices.Sort(evs)
		v.Channels = append(v.Channels, ch.Name+":"+strings.Join(evs, ","))
		if ch.FailingSince != nil {
			v.Failing = append(v.Failing, ch.Name)
		}
	}
	return v
}

// configs reads orgID's configuration from s in a write transaction and
// on its read pool, and the generation.
func configs(t *testing.T, s store.Store, orgID string) (inTx, read configView, gen int64) {
	t.Helper()
	c := writeGet(t, s, func(ctx context.Context, tx store.Tx) (*store.OrgConfig, error) { return tx.OrgConfig(ctx, orgID) })
	r, err := s.OrgConfig(t.Context(), orgID)
	ok(t, "OrgConfig", err)
	if c.Gen != r.Gen {
		t.Errorf("generation %d in a write transaction, %d on the read pool", c.Gen, r.Gen)
	}
	return viewOf(c), viewOf(r), c.Gen
}

func testOrgConfigChanges(t *testing.T, open OpenFunc) {
	a := open(t)
	b := open(t) // a second replica on the same database
	org := createOrg(t, a, "acme")
	other := createOrg(t, a, "globex")
	hook := &shiplog.Channel{ID: shiplog.NewID(), OrgID: org.ID, Kind: shiplog.ChannelWebhook, Name: "hook", Enabled: true,
		URL: "https://example.com/hook", Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: t0, UpdatedAt: t0}
	rule := &shiplog.Rule{ID: shiplog.NewID(), OrgID: org.ID, Name: "freeze", Type: "no_deploy", Status: "enabled",
		Config: []byte(`{}`), CreatedAt: t0, UpdatedAt: t0}
	var env *shiplog.Environment
	var subID string
	prod := shiplog.EnvType("production")

	want := configView{Rules: []string{}, Channels: []string{}}
	steps := []struct {
		name    string
		change  func(ctx context.Context, tx store.Tx) error
		want    func()
		sameGen bool // the change is not part of OrgConfig
	}{
		{"nothing yet", nil, func() {}, true},
		{"rule created", func(ctx context.Context, tx store.Tx) error { return tx.RuleCreate(ctx, rule) },
			func() { want.Rules = []string{"freeze/enabled"} }, false},
		{"rule updated", func(ctx context.Context, tx store.Tx) error {
			rule.Status = "disabled"
			return tx.RuleUpdate(ctx, rule)
		}, func() { want.Rules = []string{"freeze/disabled"} }, false},
		{"settings put", func(ctx context.Context, tx store.Tx) error {
			return tx.OrgSettingsPut(ctx, &store.OrgSettingsPutParams{OrgID: org.ID,
				Settings: shiplog.OrgSettings{SkipPreflightChecks: shiplog.SkipNobody, StaleRunMinutes: 60}, UpdatedBy: "Ada", Now: t0})
		}, func() { want.Skip = string(shiplog.SkipNobody) }, false},
		{"channel created", func(ctx context.Context, tx store.Tx) error { return tx.ChannelCreate(ctx, hook) },
			func() { want.Channels = []string{"hook:deployment.completed"} }, false},
		{"subscription added", func(ctx context.Context, tx store.Tx) error {
			subID = shiplog.NewID()
			return tx.SubscriptionCreate(ctx, &shiplog.Subscription{ID: subID, ChannelID: hook.ID, EventType: "deployment.failed",
				CreatedAt: t0}, org.ID)
		}, func() { want.Channels = []string{"hook:deployment.completed,deployment.failed"} }, false},
		{"subscription deleted", func(ctx context.Context, tx store.Tx) error { return tx.SubscriptionDelete(ctx, org.ID, subID) },
			func() { want.Channels = []string{"hook:deployment.completed"} }, false},
		{"failing since set", func(ctx context.Context, tx store.Tx) error {
			return tx.ChannelSetHealth(ctx, &store.ChannelHealthParams{ChannelID: hook.ID, FailingSince: ptr(t0), Now: t0})
		}, func() { want.Failing = []string{"hook"} }, false},
		{"channel disabled by its receiver", func(ctx context.Context, tx store.Tx) error {
			return tx.ChannelSetHealth(ctx, &store.ChannelHealthParams{ChannelID: hook.ID, FailingSince: ptr(t0), Disable: true,
				DisabledReason: "410 Gone", Now: t0})
		}, func() { want.Channels, want.Failing = []string{}, nil }, false},
		{"channel enabled again", func(ctx context.Context, tx store.Tx) error {
			hook.Enabled, hook.Name = true, "hook2"
			return tx.ChannelUpdate(ctx, hook)
		}, func() { want.Channels = []string{"hook2:deployment.completed"} }, false},
		{"environment created", func(ctx context.Context, tx store.Tx) (err error) {
			env, err = tx.EnvironmentEnsure(ctx, org.ID, "live", shiplog.EnvType("development"), t0)
			return err
		}, func() {}, true},
		{"environment type changed", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.EnvironmentUpdate(ctx, org.ID, env.ID, &store.EnvironmentUpdateParams{Type: &prod})
			return err
		}, func() {}, false},
		{"another org's rule", func(ctx context.Context, tx store.Tx) error {
			return tx.RuleCreate(ctx, &shiplog.Rule{ID: shiplog.NewID(), OrgID: other.ID, Name: "theirs", Type: "no_deploy",
				Status: "enabled", Config: []byte(`{}`), CreatedAt: t0, UpdatedAt: t0})
		}, func() {}, true},
		{"rule deleted", func(ctx context.Context, tx store.Tx) error { return tx.RuleDelete(ctx, org.ID, rule.ID) },
			func() { want.Rules = []string{} }, false},
		{"channel deleted", func(ctx context.Context, tx store.Tx) error { return tx.ChannelDelete(ctx, org.ID, hook.ID) },
			func() { want.Channels = []string{} }, false},
	}
	var gen int64 = -1
	for i, st := range steps {
		// Both replicas have the configuration in memory before the change.
		configs(t, a, org.ID)
		configs(t, b, org.ID)
		if st.change != nil {
			by := a
			if i%2 == 1 {
				by = b
			}
			write(t, by, st.change)
		}
		st.want()
		for _, r := range []struct {
			name string
			s    store.Store
		}{{"replica a", a}, {"replica b", b}} {
			inTx, read, g := configs(t, r.s, org.ID)
			same(t, st.name+": "+r.name+" in a write transaction", inTx, want)
			same(t, st.name+": "+r.name+" on its read pool", read, want)
			switch {
			case gen >= 0 && st.sameGen && g != gen:
				t.Errorf("%s: generation went from %d to %d; this change is not part of the configuration", st.name, gen, g)
			case gen >= 0 && !st.sameGen && g <= gen:
				t.Errorf("%s: generation %d, was %d: a change must increase it", st.name, g, gen)
			}
		}
		_, _, gen = configs(t, a, org.ID)
	}
}

// testOrgConfigRollback: a failed request's change, read back inside its
// own transaction, must not stay in memory once it is rolled back.
func testOrgConfigRollback(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	before, _, gen := configs(t, s, org.ID)
	err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		if err := tx.RuleCreate(ctx, &shiplog.Rule{ID: shiplog.NewID(), OrgID: org.ID, Name: "gone", Type: "no_deploy",
			Status: "enabled", Config: []byte(`{}`), CreatedAt: t0, UpdatedAt: t0}); err != nil {
			return err
		}
		c, err := tx.OrgConfig(ctx, org.ID)
		if err != nil {
			return err
		}
		if len(c.Rules) != 1 {
			t.Errorf("inside the changing transaction OrgConfig has %d rules, want the new one", len(c.Rules))
		}
		return errBoom
	})
	wantErr(t, "the failing write", err, errBoom)
	after, read, g := configs(t, s, org.ID)
	same(t, "configuration after the rollback, in a write transaction", after, before)
	same(t, "configuration after the rollback, on the read pool", read, before)
	if g != gen {
		t.Errorf("generation %d after a rolled-back change, was %d", g, gen)
	}
}
