package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Reflector derives schemas from Go types the way encoding/json encodes
// them: json tags name fields, "-" hides them, embedded structs are
// flattened (the outer field wins a clash), time.Time is a date-time
// string and json.RawMessage any JSON value. Named struct types become
// components and are referred to by $ref.
//
// A type is read in one of two modes. As a response, a field without
// omitempty is always present (required) and a pointer field may be null.
// As a request, fields are optional unless Required lists them, and a
// request component's name ends in "Input" (unless it already ends in
// Input, Request or Patch), so one Go type may appear both ways.
type Reflector struct {
	// Schemas collects the components; Reflect adds to it.
	Schemas map[string]*Schema
	// Names overrides the component name of a type (unexported types,
	// clashes between packages); "" inlines the type.
	Names map[reflect.Type]string
	// Enums lists the values of string types with a fixed set.
	Enums map[reflect.Type][]string
	// Required lists the JSON fields a caller must send, by request type.
	Required map[reflect.Type][]string
	// Fields adds documentation to fields, keyed "Component.json_name".
	Fields map[string]Field

	owner map[string]key // component name → what it was made from
}

// Field is documentation for one field.
type Field struct {
	Description string
	Enum        []string
	Format      string
	Example     any
	// Schema, when set, replaces the derived schema (a field typed any
	// in Go whose values have a known shape).
	Schema *Schema
}

type mode int

const (
	response mode = iota
	request
)

type key struct {
	t reflect.Type
	m mode
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// Response returns the schema of values of t as the server writes them.
func (r *Reflector) Response(t reflect.Type) *Schema { return r.schema(t, response) }

// Request returns the schema of values of t as a caller sends them.
func (r *Reflector) Request(t reflect.Type) *Schema { return r.schema(t, request) }

// Ref refers to a component by name.
func Ref(name string) *Schema { return &Schema{Ref: "#/components/schemas/" + name} }

func (r *Reflector) schema(t reflect.Type, m mode) *Schema {
	switch t {
	case timeType:
		return &Schema{Type: "string", Format: "date-time"}
	case rawType:
		return &Schema{Description: "Any JSON value."}
	}
	if vals, ok := r.Enums[t]; ok {
		return &Schema{Type: "string", Enum: anys(vals)}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return r.schema(t.Elem(), m)
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return &Schema{Type: "integer"}
	case reflect.Int64, reflect.Uint64:
		return &Schema{Type: "integer", Format: "int64"}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &Schema{Type: "string", Format: "byte"}
		}
		return &Schema{Type: "array", Items: r.schema(t.Elem(), m)}
	case reflect.Map:
		return &Schema{Type: "object", AdditionalProperties: r.schema(t.Elem(), m)}
	case reflect.Interface:
		return &Schema{}
	case reflect.Struct:
		return r.structSchema(t, m)
	}
	panic(fmt.Sprintf("openapi: no schema for Go type %s", t))
}

// name is a struct's component name in mode m; "" inlines it.
func (r *Reflector) name(t reflect.Type, m mode) string {
	n, ok := r.Names[t]
	if !ok {
		n = t.Name()
		if strings.ContainsAny(n, "[]") || !exported(n) {
			n = "" // generic instances and unexported types are inlined
		}
	}
	if n == "" || m == response {
		return n
	}
	for _, suffix := range []string{"Input", "Request", "Patch"} {
		if strings.HasSuffix(n, suffix) {
			return n
		}
	}
	return n + "Input"
}

// exported reports whether a type name is exported.
func exported(n string) bool { return n != "" && n[0] >= 'A' && n[0] <= 'Z' }

func (r *Reflector) structSchema(t reflect.Type, m mode) *Schema {
	name := r.name(t, m)
	if name == "" {
		return r.object(t, m, "")
	}
	if r.Schemas == nil {
		r.Schemas = map[string]*Schema{}
	}
	if r.owner == nil {
		r.owner = map[string]key{}
	}
	k := key{t, m}
	if prev, ok := r.owner[name]; ok {
		if prev != k {
			panic(fmt.Sprintf("openapi: component %s is both %s and %s; set Reflector.Names", name, prev.t, t))
		}
		return Ref(name)
	}
	r.owner[name] = k
	s := &Schema{}
	r.Schemas[name] = s // before recursing: a type may refer to itself
	*s = *r.object(t, m, name)
	return Ref(name)
}

// object builds a struct's schema; component names its field docs.
func (r *Reflector) object(t reflect.Type, m mode, component string) *Schema {
	s := &Schema{Type: "object", Properties: map[string]*Schema{}}
	r.fields(t, m, component, s)
	if m == request {
		for _, f := range r.Required[t] {
			if _, ok := s.Properties[f]; !ok {
				panic(fmt.Sprintf("openapi: %s has no field %q to require", t, f))
			}
			s.Required = append(s.Required, f)
		}
	}
	return s
}

// fields adds t's fields to s: its own first, then those of embedded
// structs, so an outer field wins a name clash as in encoding/json.
func (r *Reflector) fields(t reflect.Type, m mode, component string, s *Schema) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := s.Properties[name]; dup {
			continue
		}
		optional := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		fs := r.schema(f.Type, m)
		if m == response && f.Type.Kind() == reflect.Pointer && !optional {
			fs = nullable(fs)
		}
		if doc, ok := r.Fields[component+"."+name]; ok && component != "" {
			fs = document(fs, doc)
		}
		s.Properties[name] = fs
		if m == response && !optional {
			s.Required = append(s.Required, name)
		}
	}
	for _, et := range embedded {
		r.fields(et, m, component, s)
	}
}

// nullable lets s also be null.
func nullable(s *Schema) *Schema {
	switch typ := s.Type.(type) {
	case string:
		cp := *s
		cp.Type = []string{typ, "null"}
		if cp.Enum != nil {
			cp.Enum = append(append([]any{}, cp.Enum...), nil)
		}
		return &cp
	case nil:
		if s.Ref == "" {
			return s // any value already includes null
		}
	}
	return &Schema{AnyOf: []*Schema{s, {Type: "null"}}}
}

// document adds a field's documentation to its schema (a copy: the
// schema may be shared).
func document(s *Schema, f Field) *Schema {
	if f.Schema != nil {
		s = f.Schema
	}
	cp := *s
	if f.Description != "" {
		cp.Description = f.Description
	}
	if f.Enum != nil {
		cp.Enum = anys(f.Enum)
		if types, ok := cp.Type.([]string); ok && slices.Contains(types, "null") {
			cp.Enum = append(cp.Enum, nil)
		}
	}
	if f.Format != "" {
		cp.Format = f.Format
	}
	if f.Example != nil {
		cp.Examples = []any{f.Example}
	}
	return &cp
}

func anys(vals []string) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}
