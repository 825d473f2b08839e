package shiplog_test

import (
	"testing"

	"github.com/shiplog/shiplog"
)

func TestDRTransitions(t *testing.T) {
	t.Parallel()
	all := []shiplog.DRStatus{shiplog.DRDraft, shiplog.DRInProgress, shiplog.DRApproved, shiplog.DRRejected, shiplog.DRCompleted, shiplog.DRCancelled}
	allowed := map[[2]string]shiplog.DRStatus{
		{"draft", "activate"}:         shiplog.DRInProgress,
		{"in_progress", "deactivate"}: shiplog.DRDraft,
		{"approved", "complete"}:      shiplog.DRCompleted,
		{"draft", "cancel"}:           shiplog.DRCancelled,
		{"in_progress", "cancel"}:     shiplog.DRCancelled,
		{"approved", "cancel"}:        shiplog.DRCancelled,
	}
	for _, from := range all {
		for _, a := range []shiplog.DRAction{shiplog.DRActivate, shiplog.DRDeactivate, shiplog.DRComplete, shiplog.DRCancel} {
			got, ok := from.Transition(a)
			want, wantOK := allowed[[2]string{string(from), string(a)}]
			if ok != wantOK || (ok && got != want) || (!ok && got != from) {
				t.Errorf("%s --%s--> %s, %v; want %s, %v", from, a, got, ok, want, wantOK)
			}
		}
	}
}

func TestDRSettled(t *testing.T) {
	t.Parallel()
	slot := func(req bool, st shiplog.SlotStatus) *shiplog.Slot { return &shiplog.Slot{Required: req, Status: st} }
	tests := []struct {
		name  string
		slots []*shiplog.Slot
		want  shiplog.DRStatus
	}{
		{"no slots", nil, shiplog.DRApproved},
		{"only optional pending", []*shiplog.Slot{slot(false, "pending")}, shiplog.DRApproved},
		{"required pending", []*shiplog.Slot{slot(true, "approved"), slot(true, "pending")}, shiplog.DRInProgress},
		{"all required approved", []*shiplog.Slot{slot(true, "approved"), slot(false, "pending")}, shiplog.DRApproved},
		{"optional rejected still rejects", []*shiplog.Slot{slot(true, "approved"), slot(false, "rejected")}, shiplog.DRRejected},
	}
	for _, tt := range tests {
		d := &shiplog.DeploymentRequest{Status: shiplog.DRInProgress, Slots: tt.slots}
		if got := d.Settled(); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := (&shiplog.DeploymentRequest{Status: shiplog.DRDraft}).Settled(); got != shiplog.DRDraft {
		t.Errorf("draft settles to %s", got)
	}
}

func TestApprovingRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		roles   []string
		typ     string
		role    string // "" means refused
		version string // for version sign-offs; "" means refused
	}{
		{[]string{"qa"}, "qa", "qa", "qa"},
		{[]string{"qa"}, "performance", "qa", "qa"},
		{[]string{"sre"}, "performance", "sre", "sre"},
		{[]string{"sre"}, "qa", "", ""},
		{[]string{"product"}, "uat", "product", "product"},
		{[]string{"developer"}, "code_review", "developer", ""},
		{[]string{"security"}, "security", "security", "security"},
		{[]string{"compliance"}, "compliance", "compliance", "compliance"},
		{[]string{"viewer"}, "qa", "", ""},
		{[]string{"billing"}, "uat", "", ""},
		{[]string{"admin"}, "security", "admin", "admin"},
		{[]string{"release_manager"}, "code_review", "release_manager", "release_manager"},
		{[]string{"owner"}, "qa", "owner", "owner"},
		{[]string{"admin", "qa"}, "qa", "qa", "qa"}, // the specific role is recorded
		{[]string{"developer", "qa"}, "qa", "qa", "qa"},
	}
	for _, tt := range tests {
		got, ok := shiplog.ApprovingRole(tt.roles, tt.typ)
		if got != tt.role || ok != (tt.role != "") {
			t.Errorf("ApprovingRole(%v, %s) = %q, %v; want %q", tt.roles, tt.typ, got, ok, tt.role)
		}
		got, ok = shiplog.VersionApprovingRole(tt.roles, tt.typ)
		if got != tt.version || ok != (tt.version != "") {
			t.Errorf("VersionApprovingRole(%v, %s) = %q, %v; want %q", tt.roles, tt.typ, got, ok, tt.version)
		}
	}
}
