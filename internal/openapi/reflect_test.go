package openapi_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/openapi"
)

type Color string

type Inner struct {
	ID     string `json:"id"`
	Shadow string `json:"name"` // loses to Outer.Name
	Hidden string `json:"-"`
}

type Outer struct {
	*Inner
	Name     string            `json:"name"`
	Note     *string           `json:"note"`
	Maybe    *string           `json:"maybe,omitempty"`
	When     time.Time         `json:"when"`
	Raw      json.RawMessage   `json:"raw"`
	Tags     []string          `json:"tags"`
	Labels   map[string]string `json:"labels"`
	Color    Color             `json:"color"`
	Child    *Child            `json:"child"`
	Count    int64             `json:"count"`
	Ratio    float64           `json:"ratio"`
	Any      any               `json:"any"`
	internal int               // unexported: not encoded
}

var _ = Outer{internal: 1}

type Child struct {
	Parent *Child `json:"parent"` // a type may refer to itself
}

type ThingInput struct {
	Name  *string `json:"name"`
	Color *Color  `json:"color"`
	Child *Child  `json:"child"`
}

func TestResponse(t *testing.T) {
	t.Parallel()
	r := &openapi.Reflector{Enums: map[reflect.Type][]string{reflect.TypeFor[Color](): {"red", "blue"}},
		Fields: map[string]openapi.Field{"Outer.note": {Description: "A note."}}}
	s := r.Response(reflect.TypeFor[Outer]())
	if s.Ref != "#/components/schemas/Outer" {
		t.Fatalf("ref %q", s.Ref)
	}
	o := r.Schemas["Outer"]
	wantRequired := []string{"name", "note", "when", "raw", "tags", "labels", "color", "child", "count", "ratio", "any", "id"}
	if !slices.Equal(o.Required, wantRequired) {
		t.Errorf("required %v, want %v", o.Required, wantRequired)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	tests := []struct{ field, want string }{
		{"id", `{"type":"string"}`},
		{"name", `{"type":"string"}`},
		{"note", `{"type":["string","null"],"description":"A note."}`},
		{"maybe", `{"type":"string"}`},
		{"when", `{"type":"string","format":"date-time"}`},
		{"raw", `{"description":"Any JSON value."}`},
		{"tags", `{"type":"array","items":{"type":"string"}}`},
		{"labels", `{"type":"object","additionalProperties":{"type":"string"}}`},
		{"color", `{"type":"string","enum":["red","blue"]}`},
		{"child", `{"anyOf":[{"$ref":"#/components/schemas/Child"},{"type":"null"}]}`},
		{"count", `{"type":"integer","format":"int64"}`},
		{"ratio", `{"type":"number"}`},
		{"any", `{}`},
	}
	for _, tt := range tests {
		if got := js(o.Properties[tt.field]); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.field, got, tt.want)
		}
	}
	if len(o.Properties) != len(tests) {
		t.Errorf("properties %v", o.Properties)
	}
	if got := js(r.Schemas["Child"]); got != `{"type":"object","properties":{"parent":{"anyOf":[{"$ref":"#/components/schemas/Child"},{"type":"null"}]}},"required":["parent"]}` {
		t.Errorf("Child: %s", got)
	}
}

func TestRequest(t *testing.T) {
	t.Parallel()
	r := &openapi.Reflector{Required: map[reflect.Type][]string{reflect.TypeFor[ThingInput](): {"name"}}}
	r.Request(reflect.TypeFor[ThingInput]())
	r.Response(reflect.TypeFor[Child]())
	in := r.Schemas["ThingInput"]
	if !slices.Equal(in.Required, []string{"name"}) {
		t.Errorf("required %v", in.Required)
	}
	if typ := in.Properties["name"].Type; typ != "string" {
		t.Errorf("request pointers are not nullable: %v", typ)
	}
	// Child is both: a request component and a response one.
	if in.Properties["child"].Ref != "#/components/schemas/ChildInput" || r.Schemas["ChildInput"] == nil || r.Schemas["Child"] == nil {
		t.Errorf("child %+v; schemas %v", in.Properties["child"], r.Schemas)
	}
	if len(r.Schemas["ChildInput"].Required) != 0 {
		t.Errorf("request fields are optional unless listed: %v", r.Schemas["ChildInput"].Required)
	}
}

func TestNameClash(t *testing.T) {
	t.Parallel()
	r := &openapi.Reflector{Names: map[reflect.Type]string{reflect.TypeFor[Inner](): "Child"}}
	r.Response(reflect.TypeFor[Child]())
	defer func() {
		if recover() == nil {
			t.Error("two types named Child did not panic")
		}
	}()
	r.Response(reflect.TypeFor[Inner]())
}

func TestRequiredFieldMustExist(t *testing.T) {
	t.Parallel()
	r := &openapi.Reflector{Required: map[reflect.Type][]string{reflect.TypeFor[ThingInput](): {"nmae"}}}
	defer func() {
		if recover() == nil {
			t.Error("a misspelt required field did not panic")
		}
	}()
	r.Request(reflect.TypeFor[ThingInput]())
}
