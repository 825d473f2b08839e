package httpapi

import (
	"net/http"
	"strings"

	"github.com/shiplog/shiplog/internal/ingest"
	"github.com/shiplog/shiplog/internal/input"
)

// bodyLimits holds, per operation (as opKey spells it), the byte limit of
// each string field and the item limit of each array in its JSON body
// (internal/input). Fields an entry does not name get input.DefaultString
// bytes and input.DefaultItems items; every key input.MaxKey bytes.
// docs/api.md lists them; the domain's own checks (channel names, DR
// sizes) use the same figures.
var bodyLimits = func() map[string]*input.Limits {
	channel := &input.Limits{
		Strings: map[string]int{"kind": 64, "name": 200, "description": 2000, "events[]": 64,
			"environment_types_filter[]": 64, "product_names_filter[]": 255, "url": 2048, "secret": 256,
			"signature_scheme": 64, "recipients[]": 320, "retry_schedule[]": 64, "format": 64, "target_url": 2048,
			"project_names_filter[]": 255, "config.signature_scheme": 64, "config.format": 64, "config.recipients[]": 320},
		Items: map[string]int{"events": 100, "environment_types_filter": 100, "product_names_filter": 100,
			"recipients": 50, "retry_schedule": 20, "project_names_filter": 100, "config.recipients": 50},
	}
	user := &input.Limits{
		Strings: map[string]int{"email": 320, "name": 200, "roles[]": 64, "password": 1024},
		Items:   map[string]int{"roles": 20},
	}
	rule := &input.Limits{
		Strings: map[string]int{"name": 200, "rule_type": 64, "status": 64, "product_names[]": 255,
			"environment_names[]": 255, "schedule.recurrence": 64, "schedule.time_zone": 64, "schedule.start": 64,
			"schedule.end": 64, "schedule.days[]": 16, "schedule.reason": 1000, "prerequisite_environments[]": 255,
			"target_environment": 255, "required_approval_types[]": 64, "after_environment": 255},
		Items: map[string]int{"product_names": 100, "environment_names": 100, "schedule.days": 7,
			"schedule.month_days": 31, "prerequisite_environments": 50, "required_approval_types": 20},
	}
	decision := &input.Limits{Strings: map[string]int{"comments": 5000}}
	m := map[string]*input.Limits{
		"POST /deployment-events":                  ingest.DeploymentLimits(),
		"POST /build-events":                       ingest.BuildLimits(),
		"POST /version-events":                     ingest.BuildLimits(),
		"PATCH /environments/{id}":                 {Strings: map[string]int{"type": 64, "description": 2000}},
		"POST /deployments/{id}/abort":             {Strings: map[string]int{"reason": 1000}},
		"POST /notification-channels":              channel,
		"PATCH /notification-channels/{id}":        channel,
		"POST /notification-channels/{id}/recover": {Strings: map[string]int{"since": 64}},
		"POST /notification-preferences":           {Strings: map[string]int{"event_type": 64, "channel_id": 64}},
		"POST /users":                              user,
		"PATCH /users/{id}":                        user,
		"POST /deployment-requests": {
			Strings: map[string]int{"name": 200, "description": 20000, "links[]": 2048, "items[].product_name": 255,
				"items[].version": 255, "environment_names[]": 255, "approval_slots[].approval_type": 64},
			Items: map[string]int{"links": 50, "items": 100, "environment_names": 50, "approval_slots": 50},
		},
		"POST /deployment-requests/{id}/slots/{slot_id}/approve": decision,
		"POST /deployment-requests/{id}/slots/{slot_id}/reject":  decision,
		"POST /versions/{product}/{version}/approvals": {
			Strings: map[string]int{"approval_type": 64, "environment_name": 255, "comments": 5000}},
		"POST /deployment-rules":       rule,
		"PATCH /deployment-rules/{id}": rule,
		"POST /preflight":              {Strings: map[string]int{"product_name": 255, "version": 255, "environment_name": 255}},
		"POST /api-keys":               {Strings: map[string]int{"name": 200}},
		"PATCH /org-settings":          {Strings: map[string]int{"skip_preflight_checks": 64}},
		"POST /tokens":                 {Strings: map[string]int{"name": 200}},
		"POST /account/password":       {Strings: map[string]int{"old_password": 1024, "new_password": 1024}},
		"POST /account/reset-password": {Strings: map[string]int{"token": 256, "new_password": 1024}},
	}
	return m
}()

// limitsFor returns the limits of the operation r was routed to.
func limitsFor(r *http.Request) *input.Limits {
	method, path, _ := strings.Cut(r.Pattern, " ")
	return BodyLimits(method, path)
}

// BodyLimits returns the limits of the body of method path (as the OpenAPI
// document spells it): the table's entry, else the defaults.
func BodyLimits(method, path string) *input.Limits {
	if l, ok := bodyLimits[opKey(method, path)]; ok {
		return l
	}
	return &input.Limits{}
}
