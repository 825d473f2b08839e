package web

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/rule"
)

// The settings pages parse three things users type: lists in one field,
// the channel form, and the rule form's JSON. Each has table tests for
// the cases we know and a fuzz target for the ones we do not.

func TestSplitField(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{" , ,\n", []string{}},
		{"a", []string{"a"}},
		{" api-* , web\r\nworker,", []string{"api-*", "web", "worker"}},
		{"ops@example.com\nowners", []string{"ops@example.com", "owners"}},
	} {
		if got := splitField(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitField(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSplitField(f *testing.F) {
	for _, s := range []string{"", "a,b", " x \n y ", ",,,", "é, ü\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, item := range splitField(s) {
			if item == "" || item != strings.TrimSpace(item) || strings.ContainsAny(item, ",\n\r") {
				t.Fatalf("splitField(%q) has item %q", s, item)
			}
		}
	})
}

func TestChannelFormInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		form  string
		isNew bool
		want  string // the API body
	}{
		{"new webhook", "kind=webhook&name=n&enabled=on&url=+https://x/h+&signature_scheme=versioner&secret=s&events=deployment.failed&products=a,+b",
			true, `{"kind":"webhook","name":"n","description":"","enabled":true,"events":["deployment.failed"],"environment_types_filter":[],"product_names_filter":["a","b"],"url":"https://x/h","secret":"s","signature_scheme":null,"recipients":null,"retry_schedule":null,"config":{"signature_scheme":"versioner"}}`},
		{"edit keeps an unseen secret", "kind=webhook&name=n&url=https://x/h&secret_hint=…abcd",
			false, `{"kind":null,"name":"n","description":"","enabled":false,"events":[],"environment_types_filter":[],"product_names_filter":[],"url":"https://x/h","secret":null,"signature_scheme":null,"recipients":null,"retry_schedule":null,"config":null}`},
		{"edit removes the secret", "kind=webhook&name=n&url=https://x/h&remove_secret=on",
			false, `{"kind":null,"name":"n","description":"","enabled":false,"events":[],"environment_types_filter":[],"product_names_filter":[],"url":"https://x/h","secret":"","signature_scheme":null,"recipients":null,"retry_schedule":null,"config":null}`},
		{"edit keeps the Slack URL", "kind=slack&name=n&url=&retry_schedule=1s,+2s&retry_schedule_was=1s,+2s",
			false, `{"kind":null,"name":"n","description":"","enabled":false,"events":[],"environment_types_filter":[],"product_names_filter":[],"url":null,"secret":null,"signature_scheme":null,"recipients":null,"retry_schedule":null,"config":null}`},
		{"email with a new schedule", "kind=email&name=n&recipients=a@x,%0Aowners&env_types=PRODUCTION&retry_schedule=5s&retry_schedule_was=1s",
			false, `{"kind":null,"name":"n","description":"","enabled":false,"events":[],"environment_types_filter":["PRODUCTION"],"product_names_filter":[],"url":null,"secret":null,"signature_scheme":null,"recipients":null,"retry_schedule":["5s"],"config":{"recipients":["a@x","owners"]}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(parseChannelForm(q).input(tt.isNew))
			if string(got) != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzChannelForm(f *testing.F) {
	f.Add("kind=webhook&name=n&url=https://x&events=deployment.failed&secret=s", true)
	f.Add("kind=slack&url=&retry_schedule=1s&retry_schedule_was=2s", false)
	f.Add("kind=email&recipients=a,b%0Ac&products=,,x*", false)
	f.Fuzz(func(t *testing.T, raw string, isNew bool) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		cf := parseChannelForm(q)
		in := cf.input(isNew)
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("cannot marshal the body of %q: %v", raw, err)
		}
		if (in.Kind != nil) != isNew || in.Events == nil || in.Name == nil {
			t.Fatalf("body of %q: kind %v, events %v", raw, in.Kind, in.Events)
		}
		// A secret is sent only when typed, or removed on an edit when asked.
		if in.Secret != nil && *in.Secret != cf.Secret && (isNew || !cf.RemoveSecret) {
			t.Fatalf("body of %q sends a secret nobody typed", raw)
		}
		if in.Secret != nil && shiplog.ChannelKind(cf.Kind) != shiplog.ChannelWebhook {
			t.Fatalf("a %q channel gets a secret", cf.Kind)
		}
	})
}

func TestRuleFormBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		form ruleForm
		want string // a subset of the body, or the error
	}{
		{"the form's fields win", ruleForm{Name: "N", Type: "flow", Status: "enabled", Products: "a, b",
			Config: `{"name": "other", "id": "x", "target_environment": "prod", "soak_minutes": 10000000000000000000}`},
			`"name":"N","prerequisite_environments":null,"product_names":["a","b"],"required_approval_types":null,"rule_type":"flow","schedule":null,"soak_minutes":10000000000000000000,"status":"enabled","strict_order":false,"target_environment":"prod"`},
		{"nested objects are filled", ruleForm{Name: "N", Type: "schedule", Status: "enabled", Config: `{"schedule": {"recurrence": "daily"}}`},
			`"schedule":{"days":null,"end":"","month_days":null,"reason":"","recurrence":"daily","start":"","time_zone":""}`},
		{"empty settings", ruleForm{Name: "N", Type: "flow", Status: "enabled", Config: "  "}, `"prerequisite_environments":null`},
		{"bad JSON", ruleForm{Config: `{"a":`}, "not valid JSON"},
		{"an array", ruleForm{Config: `[1]`}, "must be a JSON object"},
		{"two values", ruleForm{Config: `{} 1`}, "one JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.form.body()
			got := string(b)
			if err != nil {
				got = shiplog.ErrorMessage(err)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %s\nwant it to contain %s", got, tt.want)
			}
			if err == nil && strings.Contains(got, `"id"`) {
				t.Errorf("the body names an id: %s", got)
			}
		})
	}
}

func FuzzRuleForm(f *testing.F) {
	for _, tpl := range ruleTemplates {
		f.Add("N", "schedule", "enabled", "a,b", "prod", tpl)
	}
	f.Add("", "", "", "", "", `{"schedule": null, "days": {"x": 1}}`)
	f.Add(" x ", "flow", "report_only", ",", "\n", `{"schedule": {"schedule": {}}}`)
	f.Fuzz(func(t *testing.T, name, typ, status, products, envs, config string) {
		rf := ruleForm{Name: name, Type: typ, Status: status, Products: products, Envs: envs, Config: config}
		b, err := rf.body()
		if err != nil {
			if shiplog.ErrorCode(err) != shiplog.EINVALID {
				t.Fatalf("body of %+v: %v is not a user's mistake", rf, err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("body %s is not an object: %v", b, err)
		}
		// Every field of a rule is named, so a PATCH replaces the rule.
		rt := reflect.TypeFor[rule.Rule]()
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if _, ok := m[tag]; !ok && tag != "id" {
				t.Fatalf("body %s lacks %s", b, tag)
			}
		}
		if _, ok := m["id"]; ok {
			t.Fatalf("body %s names an id", b)
		}
		var got string
		if json.Unmarshal(m["name"], &got) != nil || utf8.ValidString(name) && got != name {
			t.Fatalf("body %s: name %q, typed %q", b, got, name)
		}
	})
}
