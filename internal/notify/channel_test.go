package notify_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	_ "github.com/shiplog/shiplog/internal/notify/kinds"
)

func types(ts []shiplog.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// kindList is the registered kinds as the refusal names them.
func kindList() string {
	var names []string
	for _, k := range notify.KindNames() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// valid returns a channel of kind k that Validate accepts.
func valid(k shiplog.ChannelKind) *shiplog.Channel {
	c := &shiplog.Channel{Kind: k, Name: "alerts", Events: []shiplog.EventType{"deployment.failed"}}
	switch k {
	case shiplog.ChannelSlack:
		c.URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
	case shiplog.ChannelWebhook:
		c.URL = "https://example.com/hooks/shiplog"
	case shiplog.ChannelEmail:
		c.Set("recipients", []string{"ops@example.com"})
	}
	return c
}

func TestAllowedEvents(t *testing.T) {
	t.Parallel()
	if got := notify.AllowedEvents(&shiplog.Channel{Kind: shiplog.ChannelSlack}); !slices.Equal(got, notify.CICDEvents) {
		t.Errorf("slack: %v", got)
	}
	if got := notify.AllowedEvents(&shiplog.Channel{Kind: shiplog.ChannelEmail}); !slices.Equal(got, notify.CICDEvents) {
		t.Errorf("email: %v", got)
	}
	wh := notify.AllowedEvents(&shiplog.Channel{Kind: shiplog.ChannelWebhook})
	if want := append(slices.Clone(notify.CICDEvents), notify.GovernanceEvents...); !slices.Equal(wh, want) {
		t.Errorf("webhook: %v", wh)
	}
	// The webhook list is a copy: appending to it must not touch CICDEvents.
	_ = append(notify.AllowedEvents(&shiplog.Channel{Kind: shiplog.ChannelWebhook})[:1], "x.y")
	if notify.CICDEvents[1] != "deployment.started" {
		t.Fatal("AllowedEvents aliases CICDEvents")
	}
	for _, g := range []shiplog.EventType{"dr.created", "dr.approved", shiplog.EventVersionApproved, shiplog.EventDeploymentPreflightFailed} {
		if !slices.Contains(wh, g) || slices.Contains(notify.CICDEvents, g) {
			t.Errorf("%s must be webhook-only", g)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	const (
		slack   = shiplog.ChannelSlack
		email   = shiplog.ChannelEmail
		webhook = shiplog.ChannelWebhook
	)
	cicd := types(notify.CICDEvents)
	tests := []struct {
		name string
		kind shiplog.ChannelKind
		edit func(c *shiplog.Channel)
		want string // the whole message
	}{
		{"unknown kind", "carrier-pigeon", nil, "Field 'kind' must be one of " + kindList()},
		{"empty kind", "", nil, "Field 'kind' must be one of " + kindList()},
		{"no name", slack, func(c *shiplog.Channel) { c.Name = " \t " }, "Field 'name' is required"},
		{"long name", slack, func(c *shiplog.Channel) { c.Name = strings.Repeat("n", 201) }, "Field 'name' is too long (limit 200 bytes)"},
		{"long description", slack, func(c *shiplog.Channel) { c.Description = strings.Repeat("d", 2001) },
			"Field 'description' is too long (limit 2000 bytes)"},
		{"no events", slack, func(c *shiplog.Channel) { c.Events = nil },
			"Field 'events' must list at least one event type; slack channels accept: " + cicd},
		{"no events, webhook", webhook, func(c *shiplog.Channel) { c.Events = []shiplog.EventType{} },
			"Field 'events' must list at least one event type; webhook channels accept: " + types(notify.AllowedEvents(&shiplog.Channel{Kind: webhook}))},
		{"unknown event", webhook, func(c *shiplog.Channel) { c.Events = []shiplog.EventType{"deploy.done"} },
			"Unknown event type 'deploy.done'; webhook channels accept: " + types(notify.AllowedEvents(&shiplog.Channel{Kind: webhook}))},
		{"DR event on slack", slack, func(c *shiplog.Channel) { c.Events = []shiplog.EventType{"deployment.failed", "dr.created"} },
			"Event 'dr.created' is delivered by webhook channels only; slack channels accept: " + cicd},
		{"version.approved on email", email, func(c *shiplog.Channel) { c.Events = []shiplog.EventType{shiplog.EventVersionApproved} },
			"Event 'version.approved' is delivered by webhook channels only; email channels accept: " + cicd},
		{"preflight_failed on slack", slack, func(c *shiplog.Channel) {
			c.Events = []shiplog.EventType{shiplog.EventDeploymentPreflightFailed}
		}, "Event 'deployment.preflight_failed' is delivered by webhook channels only; slack channels accept: " + cicd},
		{"too many env filters", slack, func(c *shiplog.Channel) { c.EnvironmentTypesFilter = make([]string, 101) },
			"Filters may list at most 100 values"},
		{"too many product filters", slack, func(c *shiplog.Channel) { c.ProductNamesFilter = make([]string, 101) },
			"Filters may list at most 100 values"},
		{"unknown env type", slack, func(c *shiplog.Channel) { c.EnvironmentTypesFilter = []string{"production", "prod"} },
			"Field 'environment_types_filter' has an unknown value 'prod'; use PRODUCTION, STAGING, TEST, DEVELOPMENT, PREVIEW"},
		{"empty product", slack, func(c *shiplog.Channel) { c.ProductNamesFilter = []string{"api", "  "} },
			"Field 'product_names_filter' has an invalid value '  ': use a product name, or a prefix ending in *"},
		{"star among others", slack, func(c *shiplog.Channel) { c.ProductNamesFilter = []string{"*", "api"} },
			"Field 'product_names_filter' has an invalid value '*': use a product name, or a prefix ending in *"},
		{"inner star", slack, func(c *shiplog.Channel) { c.ProductNamesFilter = []string{"a*pi"} },
			"Field 'product_names_filter' has an invalid value 'a*pi': use a product name, or a prefix ending in *"},
		{"double star", slack, func(c *shiplog.Channel) { c.ProductNamesFilter = []string{"api**"} },
			"Field 'product_names_filter' has an invalid value 'api**': use a product name, or a prefix ending in *"},
		{"too many retries", webhook, func(c *shiplog.Channel) { c.RetrySchedule = slices.Repeat([]time.Duration{time.Second}, 21) },
			"Field 'retry_schedule' may list at most 20 delays"},
		{"retry too short", webhook, func(c *shiplog.Channel) { c.RetrySchedule = []time.Duration{time.Second, 999 * time.Millisecond} },
			"Field 'retry_schedule' delays must be between 1s and 24h0m0s"},
		{"retry too long", webhook, func(c *shiplog.Channel) { c.RetrySchedule = []time.Duration{24*time.Hour + time.Second} },
			"Field 'retry_schedule' delays must be between 1s and 24h0m0s"},
		{"slack without url", slack, func(c *shiplog.Channel) { c.URL = "" },
			"Field 'url' is required for Slack channels: the incoming-webhook URL from api.slack.com/apps"},
		{"slack with secret", slack, func(c *shiplog.Channel) { c.Secret = "s" }, "Slack channels take 'url' only, not 'secret' or 'recipients'"},
		{"slack with recipients", slack, func(c *shiplog.Channel) { c.Set("recipients", []string{"a@example.com"}) },
			"Slack channels take 'url' only, not 'secret' or 'recipients'"},
		{"webhook without url", webhook, func(c *shiplog.Channel) { c.URL = "" }, "Field 'url' is required for webhook channels"},
		{"a setting the kind lacks", webhook, func(c *shiplog.Channel) { c.Set("colour", "red") }, "Webhook channels take no setting 'colour'"},
		{"the URL as a setting", email, func(c *shiplog.Channel) { c.Set("url", "https://example.com") }, "Email channels take no setting 'url'"},
		{"webhook with recipients", webhook, func(c *shiplog.Channel) { c.Set("recipients", []string{"owners"}) }, "Webhook channels take no 'recipients'"},
		{"unknown signature scheme", webhook, func(c *shiplog.Channel) { c.Set("signature_scheme", "hmac") },
			"Field 'signature_scheme' must be versioner or standard-webhooks"},
		{"email with url", email, func(c *shiplog.Channel) { c.URL = "https://example.com" }, "Email channels take 'recipients', not 'url' or 'secret'"},
		{"email with secret", email, func(c *shiplog.Channel) { c.Secret = "s" }, "Email channels take 'recipients', not 'url' or 'secret'"},
		{"email without recipients", email, func(c *shiplog.Channel) { delete(c.Config, "recipients") },
			"Field 'recipients' must list at least one email address, distribution list, or the word 'owners' or 'members'"},
		{"too many recipients", email, func(c *shiplog.Channel) { c.Set("recipients", slices.Repeat([]string{"a@example.com"}, 51)) },
			"Field 'recipients' may list at most 50 addresses"},
		{"not an address", email, func(c *shiplog.Channel) { c.Set("recipients", []string{"ops@example.com", "not-an-address"}) },
			"Field 'recipients' has an invalid address 'not-an-address'"},
		{"address with a display name", email, func(c *shiplog.Channel) { c.Set("recipients", []string{"Ops <ops@example.com>"}) },
			"Field 'recipients' has an invalid address 'Ops <ops@example.com>'"},
		{"two addresses in one", email, func(c *shiplog.Channel) { c.Set("recipients", []string{"a@example.com, b@example.com"}) },
			"Field 'recipients' has an invalid address 'a@example.com, b@example.com'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid(tt.kind)
			c.Kind = tt.kind
			if tt.edit != nil {
				tt.edit(c)
			}
			_, err := notify.Validate(c)
			if err == nil {
				t.Fatalf("Validate accepted %+v", c)
			}
			if code := shiplog.ErrorCode(err); code != shiplog.EINVALID {
				t.Errorf("code %q, want %q", code, shiplog.EINVALID)
			}
			if got := shiplog.ErrorMessage(err); got != tt.want {
				t.Errorf("message\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	t.Parallel()
	t.Run("filters, events, name", func(t *testing.T) {
		t.Parallel()
		c := valid(shiplog.ChannelSlack)
		c.Name = "  deploys  "
		c.Events = []shiplog.EventType{"deployment.failed", "build.failed", "deployment.failed"}
		c.EnvironmentTypesFilter = []string{" production", "Staging ", "preview"}
		c.ProductNamesFilter = []string{" api-* ", "Web"}
		if _, err := notify.Validate(c); err != nil {
			t.Fatal(err)
		}
		if c.Name != "deploys" {
			t.Errorf("name %q", c.Name)
		}
		if want := []shiplog.EventType{"deployment.failed", "build.failed"}; !slices.Equal(c.Events, want) {
			t.Errorf("events %v, want duplicates dropped in order %v", c.Events, want)
		}
		if want := []string{"PRODUCTION", "STAGING", "PREVIEW"}; !slices.Equal(c.EnvironmentTypesFilter, want) {
			t.Errorf("env filter %q, want %q", c.EnvironmentTypesFilter, want)
		}
		if want := []string{"api-*", "Web"}; !slices.Equal(c.ProductNamesFilter, want) {
			t.Errorf("product filter %q, want %q", c.ProductNamesFilter, want)
		}
		if len(c.Config) != 0 {
			t.Errorf("slack channel got settings %v", c.Config)
		}
	})
	t.Run("lone star", func(t *testing.T) {
		t.Parallel()
		c := valid(shiplog.ChannelSlack)
		c.ProductNamesFilter = []string{"*"}
		if _, err := notify.Validate(c); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("recipients", func(t *testing.T) {
		t.Parallel()
		c := valid(shiplog.ChannelEmail)
		c.Set("recipients", []string{" Owners ", " ops@example.com\t", "<list@example.com>"})
		if _, err := notify.Validate(c); err != nil {
			t.Fatal(err)
		}
		if want := []string{"owners", "ops@example.com", "list@example.com"}; !slices.Equal(c.Settings("recipients"), want) {
			t.Errorf("recipients %q, want %q", c.Settings("recipients"), want)
		}
	})
	t.Run("webhook scheme default and governance events", func(t *testing.T) {
		t.Parallel()
		c := valid(shiplog.ChannelWebhook)
		c.Events = notify.AllowedEvents(&shiplog.Channel{Kind: shiplog.ChannelWebhook})
		if _, err := notify.Validate(c); err != nil {
			t.Fatal(err)
		}
		if got := c.Setting("signature_scheme"); got != "versioner" {
			t.Errorf("signature scheme %q, want the versioner default", got)
		}
		s := valid(shiplog.ChannelWebhook)
		s.Set("signature_scheme", "standard-webhooks")
		if _, err := notify.Validate(s); err != nil || s.Setting("signature_scheme") != "standard-webhooks" {
			t.Errorf("standard-webhooks: %v, %q", err, s.Setting("signature_scheme"))
		}
	})
	t.Run("retry schedule bounds are inclusive", func(t *testing.T) {
		t.Parallel()
		c := valid(shiplog.ChannelWebhook)
		c.RetrySchedule = append(slices.Repeat([]time.Duration{time.Second}, 19), 24*time.Hour)
		if _, err := notify.Validate(c); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("default channel is valid", func(t *testing.T) {
		t.Parallel()
		now := time.Date(2026, 5, 24, 0, 0, 0, 0, time.UTC)
		c := notify.DefaultChannel("org1", now)
		if _, err := notify.Validate(c); err != nil {
			t.Fatal(err)
		}
		if c.OrgID != "org1" || c.Kind != shiplog.ChannelEmail || !c.Enabled || c.ID == "" ||
			!slices.Equal(c.Settings("recipients"), []string{notify.Owners}) || !c.CreatedAt.Equal(now) ||
			!slices.Equal(c.Events, []shiplog.EventType{"deployment.completed", "deployment.failed"}) {
			t.Errorf("default channel %+v", c)
		}
	})
}

func TestMatch(t *testing.T) {
	t.Parallel()
	deploy := func(product string, env shiplog.EnvType) *shiplog.Event {
		return &shiplog.Event{Type: "deployment.completed", Kind: shiplog.KindDeployment, ProductName: product,
			EnvironmentName: string(env), EnvironmentType: env}
	}
	build := &shiplog.Event{Type: "build.failed", Kind: shiplog.KindBuild, ProductName: "API-Gateway"}
	governance := &shiplog.Event{Type: "dr.created", ProductName: ""}
	request := func(types []shiplog.EnvType, products ...string) *shiplog.Event {
		return &shiplog.Event{Type: "dr.created", Kind: "dr", Targets: &shiplog.Targets{EnvironmentTypes: types, ProductNames: products}}
	}
	prodAndStaging := []shiplog.EnvType{shiplog.EnvStaging, shiplog.EnvProduction}
	tests := []struct {
		name     string
		envs     []string
		products []string
		e        *shiplog.Event
		want     bool
	}{
		{"no filters", nil, nil, deploy("web", shiplog.EnvProduction), true},
		{"no filters, build", nil, nil, build, true},
		{"no filters, governance", nil, nil, governance, true},
		{"env matches", []string{"PRODUCTION"}, nil, deploy("web", shiplog.EnvProduction), true},
		{"env matches one of several", []string{"STAGING", "PRODUCTION"}, nil, deploy("web", shiplog.EnvProduction), true},
		{"env case-insensitive", []string{"production"}, nil, deploy("web", shiplog.EnvProduction), true},
		{"env differs", []string{"PRODUCTION"}, nil, deploy("web", shiplog.EnvStaging), false},
		{"env filter vs build (no environment)", []string{"PRODUCTION"}, nil, build, false},
		{"env filter vs governance (no environment)", []string{"PRODUCTION"}, nil, governance, false},
		{"env filter vs deployment of unknown type", []string{"PRODUCTION"}, nil, deploy("web", ""), false},
		{"product exact", nil, []string{"api-gateway"}, deploy("api-gateway", shiplog.EnvTest), true},
		{"product exact, case-insensitive", nil, []string{"Api-Gateway"}, deploy("API-GATEWAY", shiplog.EnvTest), true},
		{"product differs", nil, []string{"api"}, deploy("api-gateway", shiplog.EnvTest), false},
		{"product wildcard", nil, []string{"api-*"}, deploy("API-Gateway", shiplog.EnvTest), true},
		{"product wildcard, other", nil, []string{"api-*"}, deploy("web-api", shiplog.EnvTest), false},
		{"product wildcard matches build", nil, []string{"api-*"}, build, true},
		{"product filter vs governance with no product", nil, []string{"api-*"}, governance, false},
		{"product one of several", nil, []string{"web", "api-*"}, deploy("api-1", shiplog.EnvTest), true},
		{"lone star", nil, []string{"*"}, deploy("anything", shiplog.EnvTest), true},
		{"both match", []string{"STAGING"}, []string{"api-*"}, deploy("api-1", shiplog.EnvStaging), true},
		{"env matches, product not", []string{"STAGING"}, []string{"api-*"}, deploy("web", shiplog.EnvStaging), false},
		{"product matches, env not", []string{"STAGING"}, []string{"api-*"}, deploy("api-1", shiplog.EnvProduction), false},
		{"both filters vs build", []string{"STAGING"}, []string{"api-*"}, build, false},
		// Issue 14: an environment filter dropped every dr.* event, even a
		// request that targets production.
		{"request to production, production filter", []string{"PRODUCTION"}, nil, request(prodAndStaging, "api"), true},
		{"request to staging only, production filter", []string{"PRODUCTION"}, nil, request([]shiplog.EnvType{shiplog.EnvStaging}, "api"), false},
		{"request with no targets, env filter", []string{"PRODUCTION"}, nil, request(nil), false},
		{"request, product filter matches an item", nil, []string{"api-*"}, request(prodAndStaging, "web", "api-1"), true},
		{"request, product filter matches no item", nil, []string{"api-*"}, request(prodAndStaging, "web"), false},
		{"request, both filters", []string{"PRODUCTION"}, []string{"web"}, request(prodAndStaging, "web"), true},
		{"request, no filters", nil, nil, request(nil), true},
	}
	for _, tt := range tests {
		c := &shiplog.Channel{EnvironmentTypesFilter: tt.envs, ProductNamesFilter: tt.products}
		if got := notify.Match(c, tt.e); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMatchProduct(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"api", "api", true},
		{"api", "API", true},
		{" api ", "api", true},
		{"api", "api-gateway", false},
		{"api", "", false},
		{"api-*", "API-Gateway", true},
		{"API-*", "api-gateway", true},
		{"api-*", "api-", true},
		{"api-*", "api", false},
		{"api-*", "my-api-gateway", false},
		{"*", "anything", true},
		{"*", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := notify.MatchProduct(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchProduct(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// revealed returns what a masked value shows of the secret: the text after
// the ellipsis.
func revealed(masked string) string {
	_, after, _ := strings.Cut(masked, "…")
	return after
}

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct{ secret, want string }{
		{"", ""},
		{"a", "…"},
		{"12345678", "…"},
		{"123456789", "…6789"},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "…LaSw"},
	}
	for _, tt := range tests {
		if got := notify.Mask(tt.secret); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.secret, got, tt.want)
		}
	}
	for n := range 40 {
		s := strings.Repeat("s", n) + "TAIL"[:min(n, 4)]
		r := revealed(notify.Mask(s))
		if len(r) > 4 || !strings.HasSuffix(s, r) {
			t.Errorf("Mask(%q) reveals %q", s, r)
		}
	}
}

func TestMaskURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXabcd", "https://hooks.slack.com/…abcd"},
		{"http://127.0.0.1:8080/services/T/B/secret", "http://127.0.0.1:8080/…cret"},
		{"not a url at all, long", "…long"},
		{"short", "…"},
	}
	for _, tt := range tests {
		if got := notify.MaskURL(tt.raw); got != tt.want {
			t.Errorf("MaskURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
	// Whatever the URL holds besides scheme and host (a path, a query, a
	// user's password), no more than its last 4 characters are shown.
	const secret = "S3CR3TT0K3N"
	for _, raw := range []string{
		"https://hooks.slack.com/services/T000/B000/" + secret,
		"https://hooks.slack.com/" + secret,
		"https://proxy.example.com?token=" + secret,
		"https://proxy.example.com/?token=" + secret,
		"https://proxy.example.com#" + secret,
		"https://user:" + secret + "@proxy.example.com/hook",
		"https://" + secret + "@proxy.example.com/hook",
	} {
		masked := notify.MaskURL(raw)
		if strings.Contains(masked, secret[:len(secret)-4]) {
			t.Errorf("MaskURL(%q) = %q reveals the secret", raw, masked)
		}
		if r := revealed(masked); len(r) > 4 || !strings.HasSuffix(raw, r) {
			t.Errorf("MaskURL(%q) = %q shows %q after the ellipsis", raw, masked, r)
		}
	}
}
