package web

import (
	"errors"
	"net/http"
	"strings"
)

// The settings area: notification channels and their delivery logs, API
// keys, users and deployment rules. Every page is a face for REST
// endpoints; validation, role checks and their messages are the API's.

func (s *Server) settingsRoutes(page func(pattern string, h pageFunc)) {
	page("GET /ui/settings", s.settingsIndex)
	page("GET /ui/settings/{$}", s.settingsIndex)
	// settings_channels.go
	page("GET /ui/settings/notifications", s.channelsPage)
	page("GET /ui/settings/notifications/new", s.channelNewPage)
	page("POST /ui/settings/notifications", s.channelCreate)
	page("GET /ui/settings/notifications/{id}/edit", s.channelEditPage)
	page("POST /ui/settings/notifications/{id}", s.channelUpdate)
	page("POST /ui/settings/notifications/{id}/delete", s.channelDelete)
	page("POST /ui/settings/notifications/{id}/enabled", s.channelSwitch)
	page("PATCH /ui/settings/notifications/{id}/enabled", s.channelSwitch)
	page("POST /ui/settings/notifications/{id}/test", s.channelTest)
	// settings_deliveries.go
	page("GET /ui/settings/notifications/{id}/deliveries", s.deliveriesPage)
	page("POST /ui/settings/notifications/{id}/deliveries/{delivery}/redeliver", s.redeliver)
	page("POST /ui/settings/notifications/{id}/redeliver-failed", s.redeliverFailed)
	// settings_apikeys.go
	page("GET /ui/settings/api-keys", s.apiKeysPage)
	page("POST /ui/settings/api-keys", s.apiKeyCreate)
	page("POST /ui/settings/api-keys/{id}/revoke", s.apiKeyRevoke)
	// settings_users.go
	page("GET /ui/settings/users", s.usersPage)
	page("POST /ui/settings/users", s.userCreate)
	page("GET /ui/settings/users/{id}/edit", s.userEditPage)
	page("POST /ui/settings/users/{id}", s.userUpdate)
	page("POST /ui/settings/users/{id}/deactivate", s.userSetActive(false))
	page("POST /ui/settings/users/{id}/reactivate", s.userSetActive(true))
	page("POST /ui/settings/users/{id}/delete", s.userDelete)
	page("POST /ui/settings/users/{id}/reset-link", s.userResetLink)
	page("POST /ui/settings/users/{id}/tokens/{token}/revoke", s.userTokenRevoke)
	// settings_rules.go
	page("GET /ui/settings/rules", s.rulesPage)
	page("GET /ui/settings/rules/new", s.ruleNewPage)
	page("POST /ui/settings/rules", s.ruleCreate)
	page("GET /ui/settings/rules/{id}/edit", s.ruleEditPage)
	page("POST /ui/settings/rules/{id}", s.ruleUpdate)
	page("POST /ui/settings/rules/{id}/delete", s.ruleDelete)
	page("POST /ui/settings/preflight", s.orgSettingsUpdate)

	page("GET /ui/settings/environments", s.environmentsPage)
	page("POST /ui/settings/environments/{id}", s.environmentUpdate)
}

func (s *Server) settingsIndex(w http.ResponseWriter, r *http.Request, v *view) error {
	http.Redirect(w, r, "/ui/settings/notifications", http.StatusSeeOther)
	return nil
}

// apiRefusal returns the API's refusal in err, if it is one: the console shows
// those on the page that asked, keeping what the user typed.
func apiRefusal(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status < 500 {
		return ae, true
	}
	return nil, false
}

// splitField reads a list typed into one field: items separated by commas or
// new lines, trimmed, empty ones dropped.
func splitField(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// settingsBadge is a status badge computed in Go, for states the shared status
// partial does not know: class, icon and word, so colour is never the only
// signal.
type settingsBadge struct {
	Class, Icon, Word string
}
