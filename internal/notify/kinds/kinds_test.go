package kinds_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
	_ "github.com/shiplog/shiplog/internal/notify/kinds"
)

// TestRegistryIsComplete checks what the API, the console's form, the
// worker and metrics take from every registered kind: a name and label,
// fields the form can draw, events it accepts, and a rendering of every
// CI/CD event it accepts.
func TestRegistryIsComplete(t *testing.T) {
	t.Parallel()
	kinds := notify.Kinds()
	if len(kinds) == 0 {
		t.Fatal("no kinds registered")
	}
	for _, k := range kinds {
		spec := k.Spec()
		t.Run(string(spec.Name), func(t *testing.T) {
			t.Parallel()
			if spec.Name == "" || spec.Label == "" || spec.Help == "" {
				t.Errorf("spec %+v: name, label and help are required", spec)
			}
			if got, ok := notify.Lookup(spec.Name); !ok || got.Spec().Name != spec.Name {
				t.Errorf("Lookup(%q) does not find the kind", spec.Name)
			}
			if len(spec.Fields) == 0 {
				t.Error("no fields: the console's form would have nothing to ask")
			}
			keys := map[string]bool{}
			for _, f := range spec.Fields {
				if f.Key == "" || f.Label == "" || keys[f.Key] {
					t.Errorf("field %+v: a key (unique) and a label are required", f)
				}
				keys[f.Key] = true
				switch f.Type {
				case notify.FieldURL, notify.FieldText, notify.FieldSecret, notify.FieldList:
				case notify.FieldChoice:
					if len(f.Choices) == 0 {
						t.Errorf("choice field %q has no choices", f.Key)
					}
				default:
					t.Errorf("field %q has an unknown type %q", f.Key, f.Type)
				}
			}
			c := &shiplog.Channel{Kind: spec.Name}
			events := spec.Events(c)
			if len(events) == 0 {
				t.Fatal("accepts no events")
			}
			for _, e := range events {
				if !slices.Contains(notify.AllEvents, e) {
					t.Errorf("accepts %q, which the log never holds", e)
				}
			}
			_ = k.Variant(c)
			rendered := 0
			for _, e := range events {
				var m notify.Message
				switch {
				case slices.Contains(notify.CICDEvents, e) && e[:5] == "build":
					m = notifytest.Build(e)
				case slices.Contains(notify.CICDEvents, e):
					m = notifytest.Deployment(e)
				default:
					continue // governance events carry their own body
				}
				payload, err := k.Render(m, c)
				if err != nil {
					t.Errorf("render %s: %v", e, err)
					continue
				}
				if !json.Valid(payload) {
					t.Errorf("render %s: not JSON: %.200s", e, payload)
				}
				rendered++
			}
			if rendered == 0 {
				t.Error("renders none of the CI/CD events")
			}
		})
	}
}
