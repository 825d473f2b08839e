package storetest

import (
	"context"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func testOrgSettings(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"NeverSetIsNotFound": func(t *testing.T) {
			s := open(t)
			org := createOrg(t, s, "acme")
			_, err := s.OrgSettingsGet(t.Context(), org.ID)
			wantErr(t, "OrgSettingsGet before any Put", err, store.ErrNotFound)
		},
		"PutReplacesPerOrg": func(t *testing.T) {
			s := open(t)
			a, b := createOrg(t, s, "acme"), createOrg(t, s, "globex")
			put := func(org *shiplog.Org, set shiplog.OrgSettings, by string, minute int) {
				write(t, s, func(ctx context.Context, tx store.Tx) error {
					return tx.OrgSettingsPut(ctx, &store.OrgSettingsPutParams{OrgID: org.ID, Settings: set, UpdatedBy: by, Now: at(minute)})
				})
			}
			put(a, shiplog.OrgSettings{SkipPreflightChecks: shiplog.SkipNobody, StaleRunMinutes: 0}, "Ada", 1)
			put(a, shiplog.OrgSettings{SkipPreflightChecks: shiplog.SkipPeopleOnly, StaleRunMinutes: 45}, "Bob", 2)
			put(b, shiplog.OrgSettings{SkipPreflightChecks: shiplog.SkipAnyone, StaleRunMinutes: 43200}, "Cy", 3)
			got, err := s.OrgSettingsGet(t.Context(), a.ID)
			ok(t, "OrgSettingsGet", err)
			same(t, "acme's settings after two puts", got, &shiplog.OrgSettings{SkipPreflightChecks: shiplog.SkipPeopleOnly,
				StaleRunMinutes: 45, UpdatedAt: ptr(at(2)), UpdatedBy: ptr("Bob")})
			got, err = s.OrgSettingsGet(t.Context(), b.ID)
			ok(t, "OrgSettingsGet", err)
			same(t, "globex's settings", got, &shiplog.OrgSettings{SkipPreflightChecks: shiplog.SkipAnyone,
				StaleRunMinutes: 43200, UpdatedAt: ptr(at(3)), UpdatedBy: ptr("Cy")})
		},
	})
}

// testDRCreators: a deployment request is created by a person or by an org
// API key, and reads back saying which.
func testDRCreators(t *testing.T, open OpenFunc) {
	s := open(t)
	org := createOrg(t, s, "acme")
	u := &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: "ann@example.com", Name: "Ann", Roles: []string{"developer"}, CreatedAt: t0}
	dr := func(by, key *string) *shiplog.DeploymentRequest {
		return &shiplog.DeploymentRequest{ID: shiplog.NewID(), OrgID: org.ID, Name: "release", Links: []string{},
			Items: []shiplog.DRItem{{ProductName: "api", Version: "1.0"}}, EnvironmentNames: []string{"prod"}, Status: shiplog.DRDraft,
			Slots:     []*shiplog.Slot{{ID: shiplog.NewID(), ApprovalType: "qa", Required: true, Status: shiplog.SlotPending}},
			CreatedBy: by, CreatedByKey: key, CreatedAt: t0, UpdatedAt: t0}
	}
	person, agent := dr(&u.ID, nil), dr(nil, ptr("k3"))
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.UserCreate(ctx, u, ""); err != nil {
			return err
		}
		if err := tx.DRCreate(ctx, person); err != nil {
			return err
		}
		return tx.DRCreate(ctx, agent)
	})
	person.CreatedByName, agent.CreatedByName = "Ann", "API key k3"
	got, err := s.DRGet(t.Context(), org.ID, person.ID)
	ok(t, "DRGet", err)
	same(t, "a person's request", got, person)
	got, err = s.DRGet(t.Context(), org.ID, agent.ID)
	ok(t, "DRGet", err)
	same(t, "an API key's request", got, agent)
	list, err := s.DRList(t.Context(), org.ID, store.DRFilter{}, store.Page{Limit: 10})
	ok(t, "DRList", err)
	if len(list) != 2 {
		t.Errorf("DRList: %d requests, want both", len(list))
	}
	// Nobody at all is not a creator.
	err = s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error { return tx.DRCreate(ctx, dr(nil, nil)) })
	if err == nil {
		t.Errorf("DRCreate without a person or a key succeeded")
	}
}
