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
	Problems int // channels failing or switched off by shiplog
	Selected bool
}

// channelCard is one channel in the list, with the answer to its last Test
// when the page is the answer to one (without JavaScript).
type channelCard struct {
	C      apiv1.Channel
	Health settingsBadge
	H      health // problems.go
	Test   *testView
	// Destination is where it delivers: its URL (IsURL), or its list
	// setting (email's recipients).
	Destination string
	IsURL       bool
	// Signing says how requests are signed, for kinds with a secret.
	Signing string
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
	Help   string // the kind's one line, for an empty tab
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

func newCard(c apiv1.Channel) channelCard {
	card := channelCard{C: c, Health: channelHealth(c.Channel), Destination: c.URL, IsURL: c.URL != ""}
	var choices []string
	signed := false
	for _, fd := range kindSpec(string(c.Kind)).Fields {
		switch {
		case fd.Key == fieldSecret:
			signed = true
		case fd.Type == notify.FieldList && card.Destination == "":
			card.Destination = strings.Join(c.Channel.Settings(fd.Key), ", ")
		case fd.Type == notify.FieldChoice:
			if v := c.Channel.Setting(fd.Key); v != "" {
				choices = append(choices, v)
			}
		}
	}
	switch {
	case signed && c.SecretHint != nil:
		card.Signing = "signed (" + strings.Join(append(choices, "secret ending "+*c.SecretHint), ", ") + ")"
	case signed:
		card.Signing = "unsigned: no secret"
		if len(choices) > 0 {
			card.Signing += " (" + strings.Join(choices, ", ") + ")"
		}
	}
	return card
}

// card is a channel's card with its health told from its deliveries.
func (s *Server) card(r *http.Request, v *view, c apiv1.Channel) (channelCard, error) {
	card := newCard(c)
	h, err := s.healthOf(r, v, c.Channel)
	if err != nil {
		return card, err
	}
	card.H, card.Health = h, h.Badge
	return card, nil
}

// channelsData is the page on kind's tab; no kind is the first tab with a
// problem, else the first with channels, else the first.
func (s *Server) channelsData(r *http.Request, v *view, kind shiplog.ChannelKind) (*channelsData, error) {
	var list apiv1.List[apiv1.Channel]
	if err := s.call(r, v, http.MethodGet, "/notification-channels/", nil, &list); err != nil {
		return nil, err
	}
	cards := make([]channelCard, len(list.Items))
	for i, c := range list.Items {
		var err error
		if cards[i], err = s.card(r, v, c); err != nil {
			return nil, err
		}
	}
	if kind == "" {
		for _, c := range cards {
			if c.H.Problem {
				kind = c.C.Kind
				break
			}
		}
	}
	if kind == "" && len(cards) > 0 {
		kind = cards[0].C.Kind
	}
	kind = kindOf(string(kind))
	spec, _ := notify.SpecOf(kind)
	d := &channelsData{Kind: kind, Label: spec.Label, Help: spec.Help}
	for _, k := range notify.KindNames() {
		tab := channelTab{Kind: k, Label: kindLabel(k), Selected: k == kind}
		for _, c := range cards {
			if c.C.Kind == k {
				tab.Count++
				if c.H.Problem {
					tab.Problems++
				}
				if k == kind {
					d.Cards = append(d.Cards, c)
				}
			}
		}
		d.Tabs = append(d.Tabs, tab)
	}
	return d, nil
}

func (s *Server) channelsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	var kind shiplog.ChannelKind // none asked: the tab that needs attention
	if q := r.URL.Query().Get("kind"); q != "" {
		kind = kindOf(q)
	}
	d, err := s.channelsData(r, v, kind)
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
// back: after a refusal the user types it again. The kind's own fields
// come from its notify.Spec: url and secret are the channel's URL and
// signing secret, the others its settings (config).
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
	URLHint     string // a kind whose URL is secret: the current URL, masked as the API shows it
	Secret      string
	SecretHint  string
	// RemoveSecret asks to remove the signing secret.
	RemoveSecret bool
	// SecretDropped says the user had typed a secret that was not kept.
	SecretDropped bool
	// Settings are the kind's other fields as typed, by key.
	Settings map[string]string
	// Retry is the retry schedule as typed; RetryWas as shown, so an
	// untouched field leaves the channel's schedule alone.
	Retry, RetryWas string
}

// Fields a kind's Spec may list that are the channel's own, not config.
const (
	fieldURL    = "url"
	fieldSecret = "secret"
)

func kindSpec(kind string) notify.Spec {
	spec, _ := notify.SpecOf(shiplog.ChannelKind(kind))
	return spec
}

func parseChannelForm(f url.Values) channelForm {
	cf := channelForm{
		ID:           strings.TrimSpace(f.Get("id")),
		Kind:         strings.TrimSpace(f.Get("kind")),
		Name:         f.Get("name"),
		Description:  f.Get("description"),
		Enabled:      f.Get("enabled") == "on" || f.Get("enabled") == "true",
		Events:       append([]string{}, f["events"]...),
		EnvTypes:     append([]string{}, f["env_types"]...),
		Products:     f.Get("products"),
		URL:          strings.TrimSpace(f.Get(fieldURL)),
		URLHint:      f.Get("url_hint"),
		Secret:       f.Get(fieldSecret),
		SecretHint:   f.Get("secret_hint"),
		RemoveSecret: f.Get("remove_secret") == "on",
		Settings:     map[string]string{},
		Retry:        f.Get("retry_schedule"),
		RetryWas:     f.Get("retry_schedule_was"),
	}
	for _, fd := range kindSpec(cf.Kind).Fields {
		if fd.Key == fieldURL || fd.Key == fieldSecret {
			continue
		}
		v := f.Get(fd.Key)
		if fd.Type != notify.FieldList {
			v = strings.TrimSpace(v)
		}
		cf.Settings[fd.Key] = v
	}
	return cf
}

// input is the API body for the form. A new channel sends its kind; an
// edit leaves out what the user left alone (an empty secret URL or secret
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
	spec := kindSpec(f.Kind)
	for _, fd := range spec.Fields {
		switch fd.Key {
		case fieldURL:
			if u := f.URL; u != "" || isNew || !spec.URLIsSecret {
				in.URL = &u
			}
		case fieldSecret:
			if f.Secret != "" {
				secret := f.Secret
				in.Secret = &secret
			} else if f.RemoveSecret && !isNew {
				none := ""
				in.Secret = &none
			}
		default:
			v := f.Settings[fd.Key]
			if in.Config == nil {
				in.Config = map[string]any{}
			}
			switch {
			case fd.Type == notify.FieldList:
				in.Config[fd.Key] = splitField(v)
			case v != "":
				in.Config[fd.Key] = v
			}
		}
	}
	if len(in.Config) == 0 {
		in.Config = nil
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
		Settings: settingValues(c), Retry: strings.Join(c.RetrySchedule, ", ")}
	f.RetryWas = f.Retry
	for _, e := range c.Events {
		f.Events = append(f.Events, string(e))
	}
	if kindSpec(f.Kind).URLIsSecret {
		f.URLHint = c.URL
	} else {
		f.URL = c.URL
	}
	if c.SecretHint != nil {
		f.SecretHint = *c.SecretHint
	}
	return f
}

// settingValues are a channel's settings as its form shows them: lists
// joined with commas.
func settingValues(c apiv1.Channel) map[string]string {
	out := map[string]string{}
	for _, fd := range kindSpec(string(c.Kind)).Fields {
		if fd.Key == fieldURL || fd.Key == fieldSecret {
			continue
		}
		if fd.Type == notify.FieldList {
			out[fd.Key] = strings.Join(c.Channel.Settings(fd.Key), ", ")
		} else {
			out[fd.Key] = c.Channel.Setting(fd.Key)
		}
	}
	return out
}

// fieldView is one of the kind's fields on the form.
type fieldView struct {
	notify.Field
	ID, Value string
	// Masked: a URL that is a secret, never shown back (Hint is its end).
	Masked bool
	Hint   string
}

func formFields(f channelForm) []fieldView {
	spec := kindSpec(f.Kind)
	var out []fieldView
	for _, fd := range spec.Fields {
		v := fieldView{Field: fd, ID: "ch-" + fd.Key}
		switch fd.Key {
		case fieldURL:
			v.Value, v.Masked, v.Hint = f.URL, spec.URLIsSecret, f.URLHint
		case fieldSecret:
			v.Hint = f.SecretHint
		default:
			v.Value = f.Settings[fd.Key]
		}
		out = append(out, v)
	}
	return out
}

type eventGroup struct {
	Label  string
	Events []string
}

var groupLabels = map[string]string{"deployment": "Deployments", "build": "Builds", "dr": "Deployment requests", "version": "Versions"}

// eventGroups lists the event types a kind of channel accepts (the domain's
// list), grouped by what they are about.
func eventGroups(events []shiplog.EventType) []eventGroup {
	var out []eventGroup
	for _, e := range events {
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
	Fields   []fieldView
	Groups   []eventGroup
	EnvTypes []string
	// Governance: the kind takes events that have no environment besides
	// builds (the filters' hint says so).
	Governance bool
}

func (s *Server) renderChannelForm(w http.ResponseWriter, r *http.Request, v *view, status int, f channelForm) error {
	v.Nav = "settings"
	kind := kindOf(f.Kind)
	f.Kind = string(kind)
	events := notify.AllowedEvents(&shiplog.Channel{Kind: kind})
	d := channelFormData{F: f, Label: kindLabel(kind), Fields: formFields(f), Groups: eventGroups(events),
		EnvTypes:   notify.EnvFilterValues,
		Governance: slices.ContainsFunc(events, func(e shiplog.EventType) bool { return slices.Contains(notify.GovernanceEvents, e) })}
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
	f := channelForm{Kind: string(kind), Enabled: true, Events: []string{"deployment.completed", "deployment.failed"},
		Settings: map[string]string{}}
	for _, fd := range kindSpec(f.Kind).Fields {
		if fd.Type == notify.FieldChoice && len(fd.Choices) > 0 {
			f.Settings[fd.Key] = fd.Choices[0].Value
		}
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
		card, err := s.card(r, v, out)
		if err != nil {
			return err
		}
		return s.fragment(w, "settings_notifications", "channel", v, card)
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
