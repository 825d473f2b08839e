package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/outbound"
	"github.com/shiplog/shiplog/internal/notify/webhook"
	"github.com/shiplog/shiplog/internal/store"
)

func invalid(format string, args ...any) error {
	return shiplog.Errorf(shiplog.EINVALID, format, args...)
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return invalid("Field '%s' has the wrong type (expected %s)", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return invalid("Unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return invalid("Invalid JSON in request body")
	}
	return nil
}

// channelKinds are the registered kinds' names: what the API accepts.
func channelKinds() []string {
	var out []string
	for _, k := range notify.KindNames() {
		out = append(out, string(k))
	}
	return out
}

func channelOut(c *shiplog.Channel) apiv1.Channel {
	out := apiv1.Channel{Channel: c, URL: c.URL, RetrySchedule: []string{}}
	if c.Kind == shiplog.ChannelWebhook {
		out.Format = webhook.FormatOf(c)
	}
	if spec, _ := notify.SpecOf(c.Kind); spec.URLIsSecret {
		out.URL = notify.MaskURL(c.URL)
	}
	if c.Secret != "" {
		h := notify.Mask(c.Secret)
		out.SecretHint = &h
	}
	// The effective schedule, so the default is visible too.
	for _, d := range delivery.Schedule(c) {
		out.RetrySchedule = append(out.RetrySchedule, d.String())
	}
	for _, l := range []*[]string{&c.EnvironmentTypesFilter, &c.ProductNamesFilter} {
		if *l == nil {
			*l = []string{}
		}
	}
	if c.Config == nil {
		c.Config = map[string]any{}
	}
	out.SignatureScheme, out.Recipients = c.Setting("signature_scheme"), c.Settings("recipients")
	return out
}

// applyChannel copies the given fields of in onto c. Qovery's spellings
// (target_url, project_names_filter, its event names) stand for shiplog's.
func applyChannel(c *shiplog.Channel, in *apiv1.ChannelInput) error {
	if in.TargetURL != nil {
		if in.URL != nil && strings.TrimSpace(*in.URL) != strings.TrimSpace(*in.TargetURL) {
			return invalid("Fields 'url' and 'target_url' are the same setting: give one")
		}
		in.URL = in.TargetURL
	}
	if in.ProjectNamesFilter != nil {
		if in.ProductNamesFilter != nil {
			return invalid("Fields 'product_names_filter' and 'project_names_filter' are the same setting: give one")
		}
		in.ProductNamesFilter = in.ProjectNamesFilter
	}
	if in.Format != nil {
		if c.Kind != shiplog.ChannelWebhook {
			return invalid("Field 'format' is a webhook setting; %s channels have one format", c.Kind)
		}
		setting(c, "format", *in.Format)
	}
	if in.Name != nil {
		c.Name = *in.Name
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.Enabled != nil {
		c.Enabled = *in.Enabled
	}
	if in.Events != nil {
		c.Events = nil
		for _, e := range *in.Events {
			t := shiplog.EventType(strings.TrimSpace(e))
			if q, ok := webhook.ParseQoveryEvent(e); ok {
				t = q
			}
			c.Events = append(c.Events, t)
		}
	}
	if in.EnvironmentTypesFilter != nil {
		c.EnvironmentTypesFilter = *in.EnvironmentTypesFilter
	}
	if in.ProductNamesFilter != nil {
		c.ProductNamesFilter = *in.ProductNamesFilter
	}
	if in.URL != nil {
		c.URL = strings.TrimSpace(*in.URL)
	}
	if in.Secret != nil {
		c.Secret = *in.Secret
	}
	for k, v := range in.Config {
		setting(c, k, v)
	}
	// The settings that were top-level fields before config.
	if in.SignatureScheme != nil {
		setting(c, "signature_scheme", *in.SignatureScheme)
	}
	if in.Recipients != nil {
		setting(c, "recipients", *in.Recipients)
	}
	if in.RetrySchedule != nil {
		c.RetrySchedule = nil
		for _, s := range *in.RetrySchedule {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				return invalid("Field 'retry_schedule' has an invalid delay '%s'; use durations like \"5s\", \"5m\", \"2h\"", s)
			}
			c.RetrySchedule = append(c.RetrySchedule, d)
		}
	}
	return nil
}

// setting sets one of the kind's settings; an empty value removes it, so
// clearing a setting and leaving it out are the same.
func setting(c *shiplog.Channel, key string, v any) {
	switch x := v.(type) {
	case nil:
		delete(c.Config, key)
		return
	case string:
		if x == "" {
			delete(c.Config, key)
			return
		}
	case []string:
		if len(x) == 0 {
			delete(c.Config, key)
			return
		}
	case []any:
		if len(x) == 0 {
			delete(c.Config, key)
			return
		}
		// A list of strings, as the kinds read lists.
		list := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				c.Set(key, v) // the kind refuses what it cannot read
				return
			}
			list = append(list, s)
		}
		v = list
	}
	c.Set(key, v)
}

// checkChannel validates c (by its kind) and, for new or changed URLs, the
// SSRF policy. It returns a secret the kind generated, to show once.
func (s *Server) checkChannel(c *shiplog.Channel, urlChanged bool) (string, error) {
	generated, err := notify.Validate(c)
	if err != nil {
		return "", err
	}
	if urlChanged && c.URL != "" {
		if err := outbound.ValidateURL(c.URL, s.AllowPrivateTargets); err != nil {
			return "", err
		}
	}
	return generated, nil
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) error {
	var in apiv1.ChannelInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Kind == nil {
		return invalid("Field 'kind' is required: one of %s", strings.Join(channelKinds(), ", "))
	}
	now := s.Clock.Now()
	c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: principal(r).OrgID, Kind: shiplog.ChannelKind(strings.ToLower(strings.TrimSpace(*in.Kind))),
		Enabled: true, CreatedAt: now, UpdatedAt: now}
	qovery := c.Kind == "standard" || c.Kind == shiplog.ChannelSlack && in.TargetURL != nil
	if c.Kind == "standard" {
		// Qovery's STANDARD webhook: its payload unless a format is given.
		c.Kind = shiplog.ChannelWebhook
		if in.Format == nil {
			f := webhook.FormatQovery
			in.Format = &f
		}
	}
	if err := applyChannel(c, &in); err != nil {
		return err
	}
	if qovery && strings.TrimSpace(c.Name) == "" {
		// Qovery's webhooks have no name: the description, else the host.
		c.Name = strings.TrimSpace(c.Description)
		if u, err := url.Parse(c.URL); err == nil && c.Name == "" {
			c.Name = u.Hostname()
		}
		for len(c.Name) > 200 {
			c.Name = c.Name[:len(c.Name)-1]
			c.Name = strings.ToValidUTF8(c.Name, "")
		}
	}
	generated, err := s.checkChannel(c, true)
	if err != nil {
		return err
	}
	if err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error { return tx.ChannelCreate(ctx, c) }); err != nil {
		return err
	}
	out := channelOut(c)
	out.Secret = generated
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.Store.ChannelList(r.Context(), principal(r).OrgID)
	if err != nil {
		return err
	}
	out := make([]apiv1.Channel, 0, len(cs))
	for _, c := range cs {
		out = append(out, channelOut(c))
	}
	writeJSON(w, http.StatusOK, apiv1.List[apiv1.Channel]{Items: out})
	return nil
}

func (s *Server) channel(r *http.Request) (*shiplog.Channel, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.Store.ChannelGet(r.Context(), principal(r).OrgID, id)
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := s.channel(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, channelOut(c))
	return nil
}

func (s *Server) patchChannel(w http.ResponseWriter, r *http.Request) error {
	var in apiv1.ChannelInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Kind != nil {
		return invalid("Field 'kind' cannot be changed; create another channel")
	}
	c, err := s.channel(r)
	if err != nil {
		return err
	}
	wasEnabled, oldURL := c.Enabled, c.URL
	if err := applyChannel(c, &in); err != nil {
		return err
	}
	generated, err := s.checkChannel(c, c.URL != oldURL)
	if err != nil {
		return err
	}
	c.UpdatedAt = s.Clock.Now()
	if c.Enabled && !wasEnabled {
		// Switched back on: its failure history starts over.
		c.DisabledReason, c.DisabledAt, c.FailingSince = "", nil, nil
	}
	if err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error { return tx.ChannelUpdate(ctx, c) }); err != nil {
		return err
	}
	out := channelOut(c)
	out.Secret = generated
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		return tx.ChannelDelete(ctx, principal(r).OrgID, id)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createPreference(w http.ResponseWriter, r *http.Request) error {
	var in apiv1.PreferenceInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.ChannelID == "" {
		return invalid("Field 'channel_id' is required")
	}
	if in.EventType == "" {
		return invalid("Field 'event_type' is required")
	}
	if !shiplog.ValidID(in.ChannelID) {
		return invalid("Field 'channel_id' names no notification channel")
	}
	org := principal(r).OrgID
	c, err := s.Store.ChannelGet(r.Context(), org, strings.ToLower(in.ChannelID))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("Field 'channel_id' names no notification channel")
	}
	if err != nil {
		return err
	}
	c.Events = append(c.Events, shiplog.EventType(strings.TrimSpace(in.EventType)))
	if _, err := notify.Validate(c); err != nil {
		return err
	}
	sub := &shiplog.Subscription{ID: shiplog.NewID(), ChannelID: c.ID, EventType: shiplog.EventType(strings.TrimSpace(in.EventType)), CreatedAt: s.Clock.Now()}
	err = s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error { return tx.SubscriptionCreate(ctx, sub, org) })
	if errors.Is(err, store.ErrConflict) {
		return shiplog.Errorf(shiplog.ECONFLICT, "Channel %s is already subscribed to %s", c.ID, sub.EventType)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sub)
	return nil
}

func (s *Server) listPreferences(w http.ResponseWriter, r *http.Request) error {
	subs, err := s.Store.SubscriptionList(r.Context(), principal(r).OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.List[*shiplog.Subscription]{Items: nonNil(subs)})
	return nil
}

func (s *Server) deletePreference(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		return tx.SubscriptionDelete(ctx, principal(r).OrgID, id)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	c, err := s.channel(r)
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	states, err := deliveryStates(r.URL.Query().Get("state"))
	if err != nil {
		return err
	}
	ds, err := s.Store.DeliveryList(r.Context(), c.OrgID, c.ID, states, p)
	if err != nil {
		return err
	}
	writeList(w, ds, p, func(d *shiplog.Delivery) string { return d.ID })
	return nil
}

// deliveryStates reads the log's state filter: states separated by commas.
func deliveryStates(q string) ([]shiplog.DeliveryState, error) {
	var out []shiplog.DeliveryState
	for _, w := range strings.Split(q, ",") {
		switch st := shiplog.DeliveryState(strings.TrimSpace(w)); st {
		case "":
		case shiplog.DeliveryQueued, shiplog.DeliverySucceeded, shiplog.DeliveryFailed, shiplog.DeliveryCancelled:
			if !slices.Contains(out, st) {
				out = append(out, st)
			}
		default:
			return nil, invalid("Query parameter 'state' takes queued, succeeded, failed or cancelled, separated by commas")
		}
	}
	return out, nil
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	org := principal(r).OrgID
	d, err := s.Store.DeliveryGet(r.Context(), org, id)
	if err != nil {
		return err
	}
	as, err := s.Store.AttemptList(r.Context(), org, id)
	if err != nil {
		return err
	}
	// Show what is (or was) sent; a pruned event leaves it empty.
	if c, err := s.Store.ChannelGet(r.Context(), org, d.ChannelID); err == nil {
		if p, err := delivery.Payload(r.Context(), s.Store, d, c, s.BaseURL); err == nil {
			d.Payload = p
		}
	}
	out := apiv1.DeliveryDetail{Delivery: d, Attempts: nonNil(as)}
	// What the delivery was about, for people reading the log; test sends
	// and pruned events have no stored event.
	if !d.Test {
		if e, err := s.Store.EventGet(r.Context(), org, d.EventID); err == nil {
			out.Subject = &apiv1.DeliverySubject{ProductName: e.ProductName, Version: e.Version, EnvironmentName: e.EnvironmentName}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// requeue queues finished deliveries again, leased to this process, and
// hands them to the worker.
func (s *Server) requeue(ctx context.Context, org string, ids []string) ([]*shiplog.Delivery, error) {
	now := s.Clock.Now()
	var out []*shiplog.Delivery
	err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		out = out[:0]
		for _, id := range ids {
			// Attempts start over under the channel's retry policy as it is now.
			prev, err := tx.DeliveryGet(ctx, org, id)
			if err != nil {
				return err
			}
			c, err := tx.ChannelGet(ctx, org, prev.ChannelID)
			if err != nil {
				return err
			}
			d, err := tx.DeliveryRequeue(ctx, org, id, now, now.Add(s.Worker.Lease), delivery.MaxAttempts(c, prev.Test))
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Worker.Dispatch(out)
	return out, nil
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ds, err := s.requeue(r.Context(), principal(r).OrgID, []string{id})
	if errors.Is(err, store.ErrConflict) {
		return shiplog.Errorf(shiplog.ECONFLICT, "Delivery %s is still queued; it will be attempted again without a redeliver", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, ds[0])
	return nil
}

func (s *Server) recoverChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := s.channel(r)
	if err != nil {
		return err
	}
	var in apiv1.RecoverInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	since, err := time.Parse(time.RFC3339Nano, in.Since)
	if err != nil {
		return invalid("Field 'since' must be an RFC 3339 timestamp such as 2025-11-06T15:30:00Z")
	}
	ids, err := s.Store.DeliveryFailedSince(r.Context(), c.OrgID, c.ID, since)
	if err != nil {
		return err
	}
	if _, err := s.requeue(r.Context(), c.OrgID, ids); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"requeued": len(ids)})
	return nil
}

// sampleEvent is what the Test button sends: a completed production
// deployment of a made-up product.
func (s *Server) sampleEvent(orgID string, now time.Time) *shiplog.Event {
	payload, _ := json.Marshal(map[string]any{"product_name": "shiplog-test", "version": "1.0.0",
		"environment_name": "production", "status": "success", "deployed_by_name": "shiplog test"})
	return &shiplog.Event{ID: shiplog.NewID(), OrgID: orgID, Type: "deployment.completed", Kind: shiplog.KindDeployment,
		SubjectID: shiplog.NewID(), ProductName: "shiplog-test", Version: "1.0.0", EnvironmentName: "production",
		EnvironmentType: shiplog.EnvProduction, Status: shiplog.StatusCompleted, Actor: "shiplog test",
		Payload: payload, OccurredAt: now}
}

func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := s.channel(r)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	e := s.sampleEvent(c.OrgID, now)
	payload, err := delivery.Render(c, delivery.WithOrg(r.Context(), s.Store, delivery.Message(e, s.BaseURL)))
	if err != nil {
		return err
	}
	d := delivery.New(c, delivery.Row{EventID: e.ID, EventType: e.Type, Payload: payload, Test: true}, now, now.Add(s.Worker.Lease))
	if err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error { return tx.DeliveryInsert(ctx, d) }); err != nil {
		return err
	}
	recipients, err := s.Worker.Recipients(r.Context(), c)
	if err != nil {
		return err
	}
	started := s.Clock.Now()
	o := s.Worker.SendNow(r.Context(), d, c, recipients)
	a := s.Worker.Record(context.WithoutCancel(r.Context()), d, c, o, started, s.Clock.Now().Sub(started))
	writeJSON(w, http.StatusOK, apiv1.TestResult{OK: o.OK, DeliveryID: d.ID, Attempt: a})
	return nil
}
