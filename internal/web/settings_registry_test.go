package web_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/notify"
)

// TestChannelKindsAreTheRegistry: the API and the console's channel pages
// offer exactly the registered kinds, and the form asks each kind's own
// fields, so adding a kind is its package and its registration line.
func TestChannelKindsAreTheRegistry(t *testing.T) {
	t.Parallel()
	s := start(t)
	var want []string
	for _, k := range notify.KindNames() {
		want = append(want, string(k))
	}

	// The API documents the kinds it accepts.
	res, err := http.Get(s.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	err = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Schemas["Channel"].Properties["kind"].Enum; !slices.Equal(got, want) {
		t.Errorf("the API's channels have kinds %q, want the registered %q", got, want)
	}
	// Channels are created by those names, or Qovery's spelling of two.
	if got := doc.Components.Schemas["ChannelInput"].Properties["kind"].Enum; !slices.Equal(got, append(want, "STANDARD", "SLACK")) {
		t.Errorf("the API accepts kinds %q, want the registered %q and Qovery's STANDARD, SLACK", got, want)
	}

	// The console has one tab per registered kind, in registration order.
	ss := s.consoleSession(t, "kim@acme.test", "owner")
	_, body := ss.get("/ui/settings/notifications")
	var tabs []string
	for _, m := range regexp.MustCompile(`role="tab" id="tab-([a-z-]+)"`).FindAllStringSubmatch(body, -1) {
		tabs = append(tabs, m[1])
	}
	if !slices.Equal(tabs, want) {
		t.Errorf("console tabs %q, want the registered kinds %q", tabs, want)
	}
	// Each kind's form asks its fields, and accepts the kind.
	for _, k := range notify.Kinds() {
		spec := k.Spec()
		res, body := ss.get("/ui/settings/notifications/new?kind=" + string(spec.Name))
		wantPage(t, string(spec.Name)+" form", res, body, http.StatusOK, `name="kind" value="`+string(spec.Name)+`"`,
			"Add "+spec.Label+" channel")
		for _, f := range spec.Fields {
			if !regexp.MustCompile(`name="` + regexp.QuoteMeta(f.Key) + `"`).MatchString(body) {
				t.Errorf("the %s form has no input %q", spec.Name, f.Key)
			}
		}
	}
}

// TestChannelConfigOverTheAPI: a kind's settings are given and shown in
// config, and still top-level as before config.
func TestChannelConfigOverTheAPI(t *testing.T) {
	t.Parallel()
	s := start(t)
	var c apiv1.Channel
	s.api("POST", "/notification-channels/", map[string]any{"kind": "webhook", "name": "std", "url": "https://example.com/h",
		"config": map[string]any{"signature_scheme": "standard-webhooks"}, "events": []string{"deployment.failed"}}, &c)
	if c.SignatureScheme != "standard-webhooks" || c.Channel.Setting("signature_scheme") != "standard-webhooks" || c.Secret == "" {
		t.Errorf("created %+v (config %v): want the scheme top-level and in config, and a generated secret", c, c.Config)
	}
	var e apiv1.Channel
	s.api("POST", "/notification-channels/", map[string]any{"kind": "email", "name": "ops", "recipients": []string{"ops@example.com"},
		"events": []string{"deployment.failed"}}, &e)
	s.api("PATCH", "/notification-channels/"+e.ID, map[string]any{"config": map[string]any{"recipients": []string{"Owners", "dev@example.com"}}}, &e)
	if want := []string{"owners", "dev@example.com"}; !slices.Equal(e.Recipients, want) || !slices.Equal(e.Channel.Settings("recipients"), want) {
		t.Errorf("patched recipients %q, config %v; want %q in both", e.Recipients, e.Config, want)
	}
	if code := s.api("PATCH", "/notification-channels/"+e.ID, map[string]any{"config": map[string]any{"format": "qovery"}}, nil); code != http.StatusBadRequest {
		t.Errorf("a setting the kind does not have: %d, want 400", code)
	}
}
