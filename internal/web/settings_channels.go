package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/notify"
)

// Settings → Notifications: one tab per channel kind, as in the seed.

// kindOf reads a tab's kind; anything else is the first registered kind.
func kindOf(s string) shiplog.ChannelKind {
	k := shiplog.ChannelKind(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := notify.Lookup(k); ok {
		return k
	}
	if names := notify.KindNames(); len(names) > 0 {
		return names[0]
	}
	return k
}

// kindLabel is a kind's name as the console shows it.
func kindLabel(k shiplog.ChannelKind) string {
	spec, _ := notify.SpecOf(k)
	return spec.Label
}

type channelTab struct {
	Kind     shiplog.ChannelKind
	Label    string
	Count    int
	Selected bool
}

// channelCard is one channel in the list, with the answer to its last Test
// when the page is the answer to one (without JavaScript).
type channelCard struct {
	C      apiv1.Channel
	Health settingsBadge
	Test   *testView
}

// testView is a Test button's answer as the page shows it.
type testView struct {
	OK         bool
	Badge      settingsBadge
	DeliveryID string
	StatusCode int
	DurationMS int64
	Error      string
	Body       string // an excerpt
}

func newTestView(res apiv1.TestResult) *testView {
	t := &testView{OK: res.OK, DeliveryID: res.DeliveryID, Badge: settingsBadge{"bad", "✗", "not delivered"}}
	if res.OK {
		t.Badge = settingsBadge{"ok", "✓", "delivered"}
	}
	if a := res.Attempt; a != nil {
		t.StatusCode, t.DurationMS, t.Error, t.Body = a.StatusCode, a.DurationMS, a.Error, answerExcerpt(a.ResponseBody, 600)
	}
	return t
}

// onceSecret is a signing secret the server generated: shown on the page
// that answers its creation, never again.
type onceSecret struct {
	Channel, Secret string
}

type channelsData struct {
	Kind   shiplog.ChannelKind
	Label  string
	Help   string // the kind's one line, for the empty tab
	Tabs   []channelTab
	Cards  []channelCard
	Secret *onceSecret
}

// channelHealth says how a channel is doing, from what the API reports.
func channelHealth(c *shiplog.Channel) settingsBadge {
	switch {
	case !c.Enabled && c.DisabledReason != "":
		return settingsBadge{"bad", "✗", "disabled by shiplog"}
	case !c.Enabled:
		return settingsBadge{"idle", "⊘", "off"}
	case c.FailingSince != nil:
		return settingsBadge{"bad", "✗", "failing"}
	}
	return settingsBadge{"ok", "✓", "healthy"}
}

func newCard(c apiv1.Channel) channelCard { return channelCard{C: c, Health: channelHealth(c.Channel)} }

func (s *Server) channelsData(r *http.Request, v *view, kind shiplog.ChannelKind) (*channelsData, error) {
	var list apiv1.List[apiv1.Channel]
	if err := s.call(r, v, http.MethodGet, "/notification-channels/", nil, &list); err != nil {
		return nil, err
	}
	spec, _ := notify.SpecOf(kind)
	d := &channelsData{Kind: kind, Label: kindLabel(kind), Help: spec.Help}
	for _, k := range notify.KindNames() {
		tab := channelTab{Kind: k, Label: kindLabel(k), Selected: k == kind}
		for _, c := range list.Items {
			if c.Kind == k {
				tab.Count++
				if k == kind {
					d.Cards = append(d.Cards, newCard(c))
				}
			}
		}
		d.Tabs = append(d.Tabs, tab)
	}
	return d, nil
}

func (s *Server) channelsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	d, err := s.channelsData(r, v, kindOf(r.URL.Query().Get("kind")))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "settings_notifications", v, d)
}

func channelsURL(kind shiplog.ChannelKind) string {
	return "/ui/settings/notifications?kind=" + string(kind)
}

func channelPath(id string) string { return "/notification-channels/" + url.PathEscape(id) }

// channelForm is the add/edit form as typed. Secret is never rendered
// back: after a refusal the user types it again.
type channelForm struct {
	ID          string
	Kind        string
	Name        string
	Description string
	Enabled     bool
	Events      []string
	EnvTypes    []string
	Products    string
	URL         string
	URLHint     string // Slack, Teams, Discord: the current URL, masked as the API shows it
	Recipients  string
	Scheme      string
	Format      string // webhooks: the body's format
	Secret      string
	SecretHint  string
	// RemoveSecret asks to remove the webhook's secret.
	RemoveSecret bool
	// SecretDropped says the user had typed a secret that was not kept.
	SecretDropped bool
	// Retry is the retry schedule as typed; RetryWas as shown, so an
	// untouched field leaves the channel's schedule alone.
	Retry, RetryWas string
}

func parseChannelForm(f url.Values) channelForm {
	return channelForm{
		ID:           strings.TrimSpace(f.Get("id")),
		Kind:         strings.TrimSpace(f.Get("kind")),
		Name:         f.Get("name"),
		Description:  f.Get("description"),
		Enabled:      f.Get("enabled") == "on" || f.Get("enabled") == "true",
		Events:       append([]string{}, f["events"]...),
		EnvTypes:     append([]string{}, f["env_types"]...),
		Products:     f.Get("products"),
		URL:          strings.TrimSpace(f.Get("url")),
		URLHint:      f.Get("url_hint"),
		Recipients:   f.Get("recipients"),
		Scheme:       strings.TrimSpace(f.Get("signature_scheme")),
		Format:       strings.TrimSpace(f.Get("format")),
		Secret:       f.Get("secret"),
		SecretHint:   f.Get("secret_hint"),
		RemoveSecret: f.Get("remove_secret") == "on",
		Retry:        f.Get("retry_schedule"),
		RetryWas:     f.Get("retry_schedule_was"),
	}
}

// input is the API body for the form. A new channel sends its kind; an
// edit leaves out what the user left alone (an empty Slack URL or secret
// keeps the stored one, which the page never had).
func (f channelForm) input(isNew bool) apiv1.ChannelInput {
	envs, products := append([]string{}, f.EnvTypes...), splitField(f.Products)
	events := append([]string{}, f.Events...)
	name, desc, enabled := f.Name, f.Description, f.Enabled
	in := apiv1.ChannelInput{Name: &name, Description: &desc, Enabled: &enabled, Events: &events,
		EnvironmentTypesFilter: &envs, ProductNamesFilter: &products}
	if isNew {
		kind := f.Kind
		in.Kind = &kind
	}
	switch kind := shiplog.ChannelKind(f.Kind); {
	case urlIsSecret(kind):
		if u := f.URL; u != "" || isNew {
			in.URL = &u
		}
	case kind == shiplog.ChannelWebhook:
		u := f.URL
		in.URL = &u
		if f.Scheme != "" {
			scheme := f.Scheme
			in.SignatureScheme = &scheme
		}
		if f.Format != "" {
			format := f.Format
			in.Format = &format
		}
		if f.Secret != "" {
			secret := f.Secret
			in.Secret = &secret
		} else if f.RemoveSecret && !isNew {
			none := ""
			in.Secret = &none
		}
	case kind == shiplog.ChannelEmail:
		rec := splitField(f.Recipients)
		in.Recipients = &rec
	}
	if retry := strings.TrimSpace(f.Retry); retry != strings.TrimSpace(f.RetryWas) || isNew && retry != "" {
		rs := splitField(retry)
		in.RetrySchedule = &rs
	}
	return in
}

func formFromChannel(c apiv1.Channel) channelForm {
	f := channelForm{ID: c.ID, Kind: string(c.Kind), Name: c.Name, Description: c.Description, Enabled: c.Enabled,
		EnvTypes: c.EnvironmentTypesFilter, Products: strings.Join(c.ProductNamesFilter, ", "),
		Recipients: strings.Join(c.Recipients, ", "), Scheme: c.SignatureScheme, Format: c.Format,
		Retry: strings.Join(c.RetrySchedule, ", ")}
	f.RetryWas = f.Retry
	for _, e := range c.Events {
		f.Events = append(f.Events, string(e))
	}
	switch {
	case urlIsSecret(c.Kind):
		f.URLHint = c.URL
	case c.Kind == shiplog.ChannelWebhook:
		f.URL = c.URL
	}
	if c.SecretHint != nil {
		f.SecretHint = *c.SecretHint
	}
	return f
}

type eventGroup struct {
	Label  string
	Events []string
}

var groupLabels = map[string]string{"deployment": "Deployments", "build": "Builds", "dr": "Deployment requests", "version": "Versions"}

// eventGroups lists the event types a kind of channel accepts (the domain's
// list), grouped by what they are about.
func eventGroups(c *shiplog.Channel) []eventGroup {
	var out []eventGroup
	for _, e := range notify.AllowedEvents(c) {
		prefix, _, _ := strings.Cut(string(e), ".")
		label := groupLabels[prefix]
		if label == "" {
			label = prefix
		}
		i := slices.IndexFunc(out, func(g eventGroup) bool { return g.Label == label })
		if i < 0 {
			out = append(out, eventGroup{Label: label})
			i = len(out) - 1
		}
		out[i].Events = append(out[i].Events, string(e))
	}
	return out
}

type channelFormData struct {
	F        channelForm
	Label    string
	Groups   []eventGroup
	EnvTypes []string
	Schemes  []string
	Formats  []notify.Choice
	// SecretURL: the kind's URL is its credential (Slack, Teams, Discord);
	// URLLabel and URLHelp are its form field's words.
	SecretURL         bool
	URLLabel, URLHelp string
}

// urlIsSecret reports whether a kind's URL is itself the credential.
func urlIsSecret(k shiplog.ChannelKind) bool {
	spec, _ := notify.SpecOf(k)
	return spec.URLIsSecret
}

// specField is one of a kind's settings, by key.
func specField(k shiplog.ChannelKind, key string) notify.Field {
	spec, _ := notify.SpecOf(k)
	for _, f := range spec.Fields {
		if f.Key == key {
			return f
		}
	}
	return notify.Field{}
}

func (s *Server) renderChannelForm(w http.ResponseWriter, r *http.Request, v *view, status int, f channelForm) error {
	v.Nav = "settings"
	kind := kindOf(f.Kind)
	f.Kind = string(kind)
	d := channelFormData{F: f, Label: kindLabel(kind), Groups: eventGroups(&shiplog.Channel{Kind: kind}), EnvTypes: notify.EnvFilterValues,
		Schemes: []string{"versioner", "standard-webhooks"}, Formats: specField(kind, "format").Choices,
		SecretURL: urlIsSecret(kind), URLLabel: specField(kind, "url").Label, URLHelp: specField(kind, "url").Help}
	return s.render(w, r, status, "settings_channel", v, d)
}

// refused shows the form again with the API's message and what was typed,
// except a secret.
func (s *Server) channelRefused(w http.ResponseWriter, r *http.Request, v *view, f channelForm, ae *APIError) error {
	v.Error = ae.Detail
	f.SecretDropped, f.Secret = f.Secret != "", ""
	return s.renderChannelForm(w, r, v, ae.Status, f)
}

func (s *Server) channelNewPage(w http.ResponseWriter, r *http.Request, v *view) error {
	kind := kindOf(r.URL.Query().Get("kind"))
	// Most teams want to hear about results first; the user can change it.
	f := channelForm{Kind: string(kind), Enabled: true, Events: []string{"deployment.completed", "deployment.failed"}}
	if kind == shiplog.ChannelWebhook {
		f.Scheme = "versioner"
	}
	return s.renderChannelForm(w, r, v, http.StatusOK, f)
}

func (s *Server) channelEditPage(w http.ResponseWriter, r *http.Request, v *view) error {
	var c apiv1.Channel
	if err := s.call(r, v, http.MethodGet, channelPath(r.PathValue("id")), nil, &c); err != nil {
		return err
	}
	return s.renderChannelForm(w, r, v, http.StatusOK, formFromChannel(c))
}

func (s *Server) channelCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	f := parseChannelForm(r.PostForm)
	f.ID = ""
	var out apiv1.Channel
	if err := s.call(r, v, http.MethodPost, "/notification-channels/", f.input(true), &out); err != nil {
		if ae, ok := apiRefusal(err); ok {
			return s.channelRefused(w, r, v, f, ae)
		}
		return err
	}
	return s.channelSaved(w, r, v, out, "Added "+out.Name+". Press Test to check that it arrives.")
}

func (s *Server) channelUpdate(w http.ResponseWriter, r *http.Request, v *view) error {
	f := parseChannelForm(r.PostForm)
	f.ID = r.PathValue("id")
	var out apiv1.Channel
	if err := s.call(r, v, http.MethodPatch, channelPath(f.ID), f.input(false), &out); err != nil {
		if ae, ok := apiRefusal(err); ok && ae.Status != http.StatusNotFound {
			return s.channelRefused(w, r, v, f, ae)
		}
		return err
	}
	return s.channelSaved(w, r, v, out, "Saved "+out.Name+".")
}

// channelSaved ends a save: back to the list, or, when the server generated
// a signing secret, the list with that secret shown this once.
func (s *Server) channelSaved(w http.ResponseWriter, r *http.Request, v *view, c apiv1.Channel, msg string) error {
	if c.Secret == "" {
		return s.redirect(w, r, channelsURL(c.Kind), msg)
	}
	v.Nav = "settings"
	d, err := s.channelsData(r, v, c.Kind)
	if err != nil {
		return err
	}
	d.Secret = &onceSecret{Channel: c.Name, Secret: c.Secret}
	v.Flash = msg
	return s.render(w, r, http.StatusOK, "settings_notifications", v, d)
}

func (s *Server) channelDelete(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.call(r, v, http.MethodDelete, channelPath(r.PathValue("id")), nil, nil); err != nil {
		return err
	}
	return s.redirect(w, r, channelsURL(kindOf(r.PostFormValue("kind"))), "Deleted the channel and its delivery log.")
}

// channelSwitch is the enabled switch: htmx swaps the channel's card for
// the answer; without JavaScript the form posts and the list comes back.
func (s *Server) channelSwitch(w http.ResponseWriter, r *http.Request, v *view) error {
	on := r.PostFormValue("enabled") == "true"
	var out apiv1.Channel
	if err := s.call(r, v, http.MethodPatch, channelPath(r.PathValue("id")), apiv1.ChannelInput{Enabled: &on}, &out); err != nil {
		return err
	}
	if r.Header.Get("HX-Request") != "" {
		return s.fragment(w, "settings_notifications", "channel", v, newCard(out))
	}
	word := "off"
	if out.Enabled {
		word = "on"
	}
	return s.redirect(w, r, channelsURL(out.Kind), "Switched "+out.Name+" "+word+".")
}

// channelTest sends the API's sample event now and shows the receiver's
// answer beside the button (htmx), or on the list (without JavaScript).
func (s *Server) channelTest(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	var res apiv1.TestResult
	if err := s.call(r, v, http.MethodPost, channelPath(id)+"/test", nil, &res); err != nil {
		return err
	}
	if r.Header.Get("HX-Request") != "" {
		return s.fragment(w, "settings_notifications", "testresult", v, channelCard{Test: newTestView(res)})
	}
	var c apiv1.Channel
	if err := s.call(r, v, http.MethodGet, channelPath(id), nil, &c); err != nil {
		return err
	}
	v.Nav = "settings"
	d, err := s.channelsData(r, v, c.Kind)
	if err != nil {
		return err
	}
	for i := range d.Cards {
		if d.Cards[i].C.ID == c.ID {
			d.Cards[i].Test = newTestView(res)
		}
	}
	return s.render(w, r, http.StatusOK, "settings_notifications", v, d)
}

// answerExcerpt shortens a receiver's answer for the page; the delivery log
// keeps the 4 KiB the worker recorded.
func answerExcerpt(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
