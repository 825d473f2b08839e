package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
	"github.com/shiplog/shiplog/internal/notify/webhook"
)

func formatChannel(format any) *shiplog.Channel {
	c := &shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: "https://example.com/hook"}
	if format != nil {
		c.Config = map[string]any{"format": format}
	}
	return c
}

func TestKindFormatValidate(t *testing.T) {
	t.Parallel()
	k := webhook.Kind{}
	for in, want := range map[string]string{"": "versioner", "versioner": "versioner", " QOVERY ": "qovery",
		"clever": "clever", "raw": "clever", "Standard-Webhooks": "standard-webhooks"} {
		c := formatChannel(in)
		if _, err := k.Validate(c); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := webhook.FormatOf(c); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
		if _, stored := c.Config["format"]; want == "versioner" && stored {
			t.Errorf("%q: the default is not stored: %v", in, c.Config)
		}
	}
	for in, msg := range map[any]string{"flowdock": "Flowdock shut down in 2023", "Flowdock": "Flowdock shut down in 2023",
		"xml": "must be one of versioner, qovery, clever, standard-webhooks", 3: "must be a string"} {
		if _, err := k.Validate(formatChannel(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%v: err = %v, want %q", in, err, msg)
		}
	}
	c := formatChannel("qovery")
	c.Config["colour"] = "blue"
	if _, err := k.Validate(c); err == nil || !strings.Contains(err.Error(), "no setting 'colour'") {
		t.Errorf("unknown setting: %v", err)
	}
}

func TestKindFormatEvents(t *testing.T) {
	t.Parallel()
	spec := webhook.Kind{}.Spec()
	if got := spec.Events(formatChannel("qovery")); !slices.Equal(got, webhook.QoveryEventTypes) {
		t.Errorf("qovery events = %v", got)
	}
	if got := spec.Events(formatChannel("raw")); !slices.Equal(got, webhook.CleverEventTypes) {
		t.Errorf("clever events = %v", got)
	}
	for _, f := range []any{nil, "standard-webhooks"} {
		if got := spec.Events(formatChannel(f)); !slices.Equal(got, notify.AllEvents) {
			t.Errorf("%v events = %v", f, got)
		}
	}
}

func TestKindFormatRender(t *testing.T) {
	t.Parallel()
	k := webhook.Kind{}
	m := notifytest.Deployment("deployment.completed")
	for _, tc := range []struct {
		format  any
		render  func(notify.Message) ([]byte, error)
		variant string
	}{
		{nil, webhook.RenderEvent, ""},
		{"qovery", webhook.RenderQovery, "qovery"},
		{"clever", webhook.RenderClever, "clever"},
		{"standard-webhooks", webhook.RenderStandardEvent, "standard-webhooks"},
	} {
		c := formatChannel(tc.format)
		got, err := k.Render(m, c)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := tc.render(m)
		if string(got) != string(want) {
			t.Errorf("%v: rendered %s, want %s", tc.format, got, want)
		}
		if v := k.Variant(c); v != tc.variant {
			t.Errorf("%v: variant %q", tc.format, v)
		}
	}
	// Governance events are wrapped too in the standard-webhooks format.
	dr, _ := webhook.RenderDR(webhook.DR{EventType: webhook.EventDRCreated, OccurredAt: notifytest.When, ID: "d1", Name: "n",
		URL: "https://x", Status: "draft"})
	gm := notify.Message{Event: shiplog.Event{Type: webhook.EventDRCreated, Kind: "dr", OccurredAt: notifytest.When, Payload: dr}}
	body, err := k.Render(gm, formatChannel("standard-webhooks"))
	var env webhook.StandardEnvelope
	if err != nil || json.Unmarshal(body, &env) != nil || env.Type != "dr.created" || string(env.Data) != string(dr) {
		t.Errorf("dr in the envelope: %s (%v)", body, err)
	}
}

func TestKindQoverySecretHeader(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer srv.Close()
	for _, f := range []any{"qovery", nil} {
		c := formatChannel(f)
		c.URL, c.Secret = srv.URL, "s3cret"
		c.Set("signature_scheme", "versioner")
		o := webhook.Kind{}.Send(context.Background(), notify.Env{HTTP: srv.Client(), Clock: shiplog.SystemClock{}},
			notify.Target{DeliveryID: "d1", EventType: "deployment.completed", Channel: c, Payload: []byte(`{}`)})
		if !o.OK {
			t.Fatalf("outcome %+v", o)
		}
		h := <-got
		if want := map[any]string{"qovery": "s3cret", nil: ""}[f]; h.Get("qovery-secret") != want {
			t.Errorf("%v: qovery-secret = %q, want %q", f, h.Get("qovery-secret"), want)
		}
		if h.Get("X-Versioner-Signature") == "" {
			t.Errorf("%v: not signed", f)
		}
	}
}
