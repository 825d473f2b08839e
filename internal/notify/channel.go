package notify

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
)

// CICDEvents are what every kind of channel may subscribe to.
var CICDEvents = []shiplog.EventType{
	"deployment.pending", "deployment.started", "deployment.completed", "deployment.failed", "deployment.aborted",
	"build.pending", "build.started", "build.completed", "build.failed", "build.aborted",
}

// GovernanceEvents are for webhooks only: they drive automation rather than
// people (the seed: "delivered via outbound webhook only").
var GovernanceEvents = []shiplog.EventType{
	"dr.created", "dr.activated", "dr.deactivated", "dr.approved", "dr.rejected", "dr.completed", "dr.cancelled",
	shiplog.EventVersionApproved, shiplog.EventDeploymentPreflightFailed,
}

// AllEvents are every event type the log holds: what a channel that takes
// everything (webhook) and the event stream offer.
var AllEvents = append(slices.Clone(CICDEvents), GovernanceEvents...)

// AllowedEvents lists the event types a channel of its kind, with its
// settings, accepts; none for an unknown kind.
func AllowedEvents(c *shiplog.Channel) []shiplog.EventType {
	k, ok := Lookup(c.Kind)
	if !ok {
		return nil
	}
	return slices.Clone(k.Spec().Events(c))
}

// EnvFilterValues are the accepted environment_types_filter words (Qovery's
// four plus TEST, which our environments also have).
var EnvFilterValues = []string{"PRODUCTION", "STAGING", "TEST", "DEVELOPMENT", "PREVIEW"}

// Match reports whether an event passes a channel's filters. The
// subscription itself (event type) is checked by the store query. A
// deployment request's events (dr.*) are matched by the request's targets:
// they pass an environment filter when any target environment has a type
// in it, and a product filter when any of its items is such a product.
// Other events without an environment (builds, version.approved) pass the
// environment filter only when it is empty; products match
// case-insensitively, and a pattern ending in * matches names starting
// with the rest.
func Match(c *shiplog.Channel, e *shiplog.Event) bool {
	types, products := []shiplog.EnvType{e.EnvironmentType}, []string{e.ProductName}
	if e.Targets != nil {
		types, products = e.Targets.EnvironmentTypes, e.Targets.ProductNames
	}
	if len(c.EnvironmentTypesFilter) > 0 && !slices.ContainsFunc(types, func(t shiplog.EnvType) bool {
		return t != "" && slices.ContainsFunc(c.EnvironmentTypesFilter, func(f string) bool { return strings.EqualFold(f, string(t)) })
	}) {
		return false
	}
	if len(c.ProductNamesFilter) > 0 && !slices.ContainsFunc(products, func(name string) bool {
		return slices.ContainsFunc(c.ProductNamesFilter, func(p string) bool { return MatchProduct(p, name) })
	}) {
		return false
	}
	return true
}

// MatchProduct matches one product_names_filter entry against a name.
func MatchProduct(pattern, name string) bool {
	p, n := strings.ToLower(strings.TrimSpace(pattern)), strings.ToLower(name)
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(n, prefix)
	}
	return p == n
}

// Recipient words of email channels. Owners stands for the org's owners
// and admins (the people, by their user emails, plus any owner addresses
// set with `shiplog org owners`); Members for every active person of the
// org. Both are resolved when a message is sent, so they follow people as
// they join, change role, are deactivated or leave.
const (
	Owners  = "owners"
	Members = "members"
)

// Retry schedule bounds: a receiver down for hours is fine, a year is not.
const (
	MaxRetries     = 20
	MaxRetryDelay  = 24 * time.Hour
	MinRetryDelay  = time.Second
	maxNameLen     = 200
	maxDescLen     = 2000
	maxFilterItems = 100
)

// Validate checks a channel's configuration and normalises it (filters
// upper-cased, then the kind's own settings as its Kind validates them).
// It returns a secret the kind generated, to show once. It does not check
// URL reachability or SSRF, which the caller does with the server's policy.
func Validate(c *shiplog.Channel) (generated string, err error) {
	bad := func(format string, args ...any) error { return shiplog.Errorf(shiplog.EINVALID, format, args...) }
	kind, ok := Lookup(c.Kind)
	if !ok {
		names := make([]string, 0, len(KindNames()))
		for _, n := range KindNames() {
			names = append(names, string(n))
		}
		return "", bad("Field 'kind' must be one of %s", strings.Join(names, ", "))
	}
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		return "", bad("Field 'name' is required")
	}
	if len(c.Name) > maxNameLen {
		return "", bad("Field 'name' is too long (limit %d bytes)", maxNameLen)
	}
	if len(c.Description) > maxDescLen {
		return "", bad("Field 'description' is too long (limit %d bytes)", maxDescLen)
	}
	allowed := kind.Spec().Events(c)
	if len(c.Events) == 0 {
		return "", bad("Field 'events' must list at least one event type; %s channels accept: %s", c.Kind, joinTypes(allowed))
	}
	seen := map[shiplog.EventType]bool{}
	var events []shiplog.EventType
	for _, t := range c.Events {
		if !slices.Contains(allowed, t) {
			if slices.Contains(GovernanceEvents, t) {
				return "", bad("Event '%s' is delivered by webhook channels only; %s channels accept: %s", t, c.Kind, joinTypes(allowed))
			}
			return "", bad("Unknown event type '%s'; %s channels accept: %s", t, c.Kind, joinTypes(allowed))
		}
		if !seen[t] {
			seen[t] = true
			events = append(events, t)
		}
	}
	c.Events = events
	if len(c.EnvironmentTypesFilter) > maxFilterItems || len(c.ProductNamesFilter) > maxFilterItems {
		return "", bad("Filters may list at most %d values", maxFilterItems)
	}
	for i, f := range c.EnvironmentTypesFilter {
		u := strings.ToUpper(strings.TrimSpace(f))
		if !slices.Contains(EnvFilterValues, u) {
			return "", bad("Field 'environment_types_filter' has an unknown value '%s'; use %s", f, strings.Join(EnvFilterValues, ", "))
		}
		c.EnvironmentTypesFilter[i] = u
	}
	for i, p := range c.ProductNamesFilter {
		p = strings.TrimSpace(p)
		if p == "" || p == "*" && len(c.ProductNamesFilter) > 1 || strings.Contains(strings.TrimSuffix(p, "*"), "*") {
			return "", bad("Field 'product_names_filter' has an invalid value '%s': use a product name, or a prefix ending in *", c.ProductNamesFilter[i])
		}
		c.ProductNamesFilter[i] = p
	}
	if len(c.RetrySchedule) > MaxRetries {
		return "", bad("Field 'retry_schedule' may list at most %d delays", MaxRetries)
	}
	for _, d := range c.RetrySchedule {
		if d < MinRetryDelay || d > MaxRetryDelay {
			return "", bad("Field 'retry_schedule' delays must be between %s and %s", MinRetryDelay, MaxRetryDelay)
		}
	}
	if generated, err = kind.Validate(c); err != nil {
		return "", err
	}
	// What the kind did not take is a mistake, not something to keep.
	if err := CheckSettings(c, kind.Spec()); err != nil {
		return "", err
	}
	return generated, nil
}

// CheckSettings refuses settings (Config keys) that are not among the
// kind's fields; url and secret are the channel's own (sealed), never
// settings.
func CheckSettings(c *shiplog.Channel, spec Spec) error {
	for key := range c.Config {
		if key == "url" || key == "secret" || !slices.ContainsFunc(spec.Fields, func(f Field) bool { return f.Key == key }) {
			return shiplog.Errorf(shiplog.EINVALID, "%s channels take no setting '%s'", spec.Label, key)
		}
	}
	return nil
}

func joinTypes(ts []shiplog.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Mask shows enough of a secret to recognise it, never enough to use it.
func Mask(secret string) string {
	if secret == "" {
		return ""
	}
	if len(secret) <= 8 {
		return "…"
	}
	return "…" + secret[len(secret)-4:]
}

// MaskURL keeps a URL's scheme and host and hides the rest: user info,
// path, query and fragment (a Slack URL's path is its credential).
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return Mask(raw)
	}
	return fmt.Sprintf("%s://%s/…%s", u.Scheme, u.Host, raw[max(len(raw)-4, 0):])
}

// DefaultChannel is Clever Cloud's default hook, which every new org gets:
// deployment results emailed to the org's owners. The org may edit or
// delete it.
func DefaultChannel(orgID string, now time.Time) *shiplog.Channel {
	return &shiplog.Channel{ID: shiplog.NewID(), OrgID: orgID, Kind: shiplog.ChannelEmail,
		Name: "Default deployment result e-mails", Description: "Deployment results, e-mailed to the organisation's owners.",
		Enabled: true, Events: []shiplog.EventType{"deployment.completed", "deployment.failed"},
		Config: map[string]any{"recipients": []string{Owners}}, CreatedAt: now, UpdatedAt: now}
}
