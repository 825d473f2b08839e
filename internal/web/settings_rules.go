package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/rule"
)

// Settings → Deployment rules. The common fields are a form; what each rule
// type adds (a schedule, a flow's environments, approval types) is a form
// too (settings_ruleform.go), with the same settings as JSON beside it,
// prefilled with a template per type. docs/rules.md documents the fields.

// ruleRow is a rule as GET /deployment-rules/ lists it.
type ruleRow struct {
	rule.Rule
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

var ruleTypes = []rule.Type{rule.TypeSchedule, rule.TypeFlow, rule.TypeDeploymentRequestRequired, rule.TypeVersionApprovalRequired}

var ruleTypeLabels = map[rule.Type]string{
	rule.TypeSchedule:                  "No-deploy window (schedule)",
	rule.TypeFlow:                      "Environment order and soak time (flow)",
	rule.TypeDeploymentRequestRequired: "Deployment request required",
	rule.TypeVersionApprovalRequired:   "Version approval required",
}

// ruleTemplates prefill the JSON settings of a new rule: every field the
// type takes, with a typical value.
var ruleTemplates = map[rule.Type]string{
	rule.TypeSchedule: `{
  "schedule": {
    "recurrence": "weekly",
    "time_zone": "UTC",
    "start": "18:00",
    "end": "08:00",
    "days": ["friday", "saturday", "sunday"],
    "reason": "weekend freeze"
  }
}`,
	rule.TypeFlow: `{
  "prerequisite_environments": ["staging"],
  "target_environment": "production",
  "strict_order": false,
  "soak_minutes": 60
}`,
	rule.TypeDeploymentRequestRequired: `{
  "required_approval_types": ["qa"]
}`,
	rule.TypeVersionApprovalRequired: `{
  "required_approval_types": ["qa"],
  "after_environment": "staging"
}`,
}

var ruleStatusBadges = map[rule.Status]settingsBadge{
	rule.StatusEnabled:    {"ok", "✓", "enabled"},
	rule.StatusReportOnly: {"warn", "◐", "report only"},
	rule.StatusDisabled:   {"idle", "⊘", "disabled"},
}

// commonRuleFields are the form's own fields; the JSON holds the rest.
var commonRuleFields = []string{"id", "name", "rule_type", "status", "product_names", "environment_names", "created_at", "updated_at"}

// ruleForm is the add/edit form as typed.
type ruleForm struct {
	ID       string
	Name     string
	Type     string
	Status   string
	Products string
	Envs     string
	Config   string
	// Editor is "form" when the type's settings come from Fields, else
	// they are the Config JSON.
	Editor string
	Fields ruleFields
}

func parseRuleForm(f url.Values) ruleForm {
	rf := ruleForm{Name: strings.TrimSpace(f.Get("name")), Type: strings.TrimSpace(f.Get("rule_type")),
		Status: strings.TrimSpace(f.Get("status")), Products: f.Get("product_names"), Envs: f.Get("environment_names"),
		Config: f.Get("config"), Editor: "json"}
	if f.Get("editor") == "form" {
		rf.Editor = "form"
	}
	rf.Fields = parseRuleFields(f, rf.Type)
	return rf
}

// body is the API request for the form: the JSON settings with the form's
// fields over them, and every field of a rule the JSON leaves out set to
// its zero value, so an edit replaces the rule rather than merging into it
// (PATCH keeps what a body does not name; a field deleted from the JSON
// must go).
func (f ruleForm) body() ([]byte, error) {
	obj := map[string]any{}
	if f.Editor == "form" {
		m, err := f.Fields.settings(rule.Type(f.Type))
		if err != nil {
			return nil, err
		}
		obj = m
	} else if cfg := strings.TrimSpace(f.Config); cfg != "" {
		dec := json.NewDecoder(strings.NewReader(cfg))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, shiplog.Errorf(shiplog.EINVALID, "The rule's settings are not valid JSON: %s", jsonProblem(err))
		}
		if dec.More() {
			return nil, shiplog.Errorf(shiplog.EINVALID, "The rule's settings must be one JSON object; there is more after it")
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, shiplog.Errorf(shiplog.EINVALID, "The rule's settings must be a JSON object, like %s", `{"soak_minutes": 60}`)
		}
		obj = m
	}
	obj["name"], obj["rule_type"], obj["status"] = f.Name, f.Type, f.Status
	obj["product_names"], obj["environment_names"] = nilIfEmpty(splitField(f.Products)), nilIfEmpty(splitField(f.Envs))
	delete(obj, "id")
	zeroFill(obj, reflect.TypeFor[rule.Rule]())
	return json.Marshal(obj)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// zeroFill gives obj every JSON field of struct type t it lacks, as that
// field's zero value, descending into nested objects.
func zeroFill(obj map[string]any, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || name == "id" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		v, ok := obj[name]
		if !ok {
			obj[name] = reflect.Zero(f.Type).Interface()
			continue
		}
		if nested, isObj := v.(map[string]any); isObj && ft.Kind() == reflect.Struct {
			zeroFill(nested, ft)
		}
	}
}

// jsonProblem says what is wrong with JSON without Go's type names.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " (at character " + strconv.FormatInt(se.Offset, 10) + ")"
	}
	return err.Error()
}

// configOf is a stored rule's JSON settings: the rule without the form's
// fields, indented.
func configOf(raw []byte) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	for _, k := range commonRuleFields {
		delete(m, k)
	}
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}

type ruleTypeOption struct {
	Type     rule.Type
	Label    string
	Template string
}

type rulesData struct {
	Rows []ruleListRow
	// CanEdit hides the buttons from people the API would refuse.
	CanEdit bool
	// Settings are the org's preflight settings; CanSet (owners, admins)
	// may change them. Policies are the choices, loosest first.
	Settings *shiplog.OrgSettings
	CanSet   bool
	Policies []policyOption
}

type policyOption struct {
	Value shiplog.SkipPolicy
	Label string
}

var policyOptions = []policyOption{
	{shiplog.SkipAnyone, "Anyone: API keys and people"},
	{shiplog.SkipPeopleOnly, "People only, no API keys"},
	{shiplog.SkipNobody, "Nobody"},
}

type ruleListRow struct {
	R      ruleRow
	Status settingsBadge
	Label  string
}

type ruleFormData struct {
	F        ruleForm
	Types    []ruleTypeOption
	Statuses []rule.Status
	Choices  ruleFormChoices
	Envs     []string // the org's environments, suggested for a flow
}

func ruleTypeOptions() []ruleTypeOption {
	out := make([]ruleTypeOption, 0, len(ruleTypes))
	for _, t := range ruleTypes {
		out = append(out, ruleTypeOption{Type: t, Label: ruleTypeLabels[t], Template: ruleTemplates[t]})
	}
	return out
}

func rulePath(id string) string { return "/deployment-rules/" + url.PathEscape(id) }

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request, v *view) error {
	d, err := s.rules(r, v)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "settings_rules", v, d)
}

// orgSettingsUpdate saves the preflight settings form: PATCH /org-settings/.
func (s *Server) orgSettingsUpdate(w http.ResponseWriter, r *http.Request, v *view) error {
	body := map[string]any{"skip_preflight_checks": strings.TrimSpace(r.PostForm.Get("skip_preflight_checks"))}
	minutes, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("stale_run_minutes")))
	if err != nil {
		err = shiplog.Errorf(shiplog.EINVALID, "The stale-run horizon must be a whole number of minutes (0: never stale)")
	} else {
		body["stale_run_minutes"] = minutes
		if err = s.call(r, v, http.MethodPatch, "/org-settings/", body, nil); err == nil {
			return s.redirect(w, r, "/ui/settings/rules", "Saved the preflight settings.")
		}
	}
	status := http.StatusBadRequest
	if ae, ok := apiRefusal(err); ok {
		v.Error, status = ae.Detail, ae.Status
	} else if shiplog.ErrorCode(err) == shiplog.EINVALID {
		v.Error = shiplog.ErrorMessage(err)
	} else {
		return err
	}
	d, lerr := s.rules(r, v)
	if lerr != nil {
		return lerr
	}
	return s.render(w, r, status, "settings_rules", v, d)
}

// rules reads the rules page: the rules and the org's preflight settings.
func (s *Server) rules(r *http.Request, v *view) (rulesData, error) {
	v.Nav = "settings"
	var list struct{ Items []ruleRow }
	if err := s.call(r, v, http.MethodGet, "/deployment-rules/", nil, &list); err != nil {
		return rulesData{}, err
	}
	d := rulesData{CanEdit: v.May(http.MethodPost, "/deployment-rules/"), CanSet: v.May(http.MethodPatch, "/org-settings/"),
		Policies: policyOptions}
	if err := s.call(r, v, http.MethodGet, "/org-settings/", nil, &d.Settings); err != nil {
		return rulesData{}, err
	}
	for _, rr := range list.Items {
		b, ok := ruleStatusBadges[rr.Status]
		if !ok {
			b = settingsBadge{"idle", "⊘", string(rr.Status)}
		}
		label := ruleTypeLabels[rr.Type]
		if label == "" {
			label = string(rr.Type)
		}
		d.Rows = append(d.Rows, ruleListRow{R: rr, Status: b, Label: label})
	}
	return d, nil
}

func (s *Server) renderRuleForm(w http.ResponseWriter, r *http.Request, v *view, status int, f ruleForm) error {
	v.Nav = "settings"
	return s.render(w, r, status, "settings_rule", v, ruleFormData{F: f, Types: ruleTypeOptions(),
		Statuses: []rule.Status{rule.StatusEnabled, rule.StatusReportOnly, rule.StatusDisabled},
		Choices:  ruleChoices, Envs: s.names(r, v, "/environments/")})
}

func (s *Server) ruleNewPage(w http.ResponseWriter, r *http.Request, v *view) error {
	t := rule.Type(r.URL.Query().Get("type"))
	if _, ok := ruleTemplates[t]; !ok {
		t = rule.TypeSchedule
	}
	return s.renderRuleForm(w, r, v, http.StatusOK, ruleForm{Type: string(t), Status: string(rule.StatusEnabled), Config: ruleTemplates[t],
		Editor: "form", Fields: defaultRuleFields()})
}

func (s *Server) ruleEditPage(w http.ResponseWriter, r *http.Request, v *view) error {
	var raw json.RawMessage
	if err := s.call(r, v, http.MethodGet, rulePath(r.PathValue("id")), nil, &raw); err != nil {
		return err
	}
	var rr ruleRow
	if err := json.Unmarshal(raw, &rr); err != nil {
		return err
	}
	f := ruleForm{ID: rr.ID, Name: rr.Name, Type: string(rr.Type), Status: string(rr.Status),
		Products: strings.Join(rr.ProductNames, ", "), Envs: strings.Join(rr.EnvironmentNames, ", "), Config: configOf(raw),
		Editor: "form", Fields: fieldsOf(rr.Rule)}
	return s.renderRuleForm(w, r, v, http.StatusOK, f)
}

// saveRule sends the form to the API; a refusal (the console's own JSON
// check or the API's validation) shows the form again as typed.
func (s *Server) saveRule(w http.ResponseWriter, r *http.Request, v *view, method, path string, f ruleForm) error {
	body, err := f.body()
	if err == nil {
		var out ruleRow
		if err = s.call(r, v, method, path, json.RawMessage(body), &out); err == nil {
			return s.redirect(w, r, "/ui/settings/rules", "Saved rule "+out.Name+".")
		}
	}
	status := http.StatusBadRequest
	if ae, ok := apiRefusal(err); ok && ae.Status != http.StatusNotFound {
		v.Error, status = ae.Detail, ae.Status
	} else if shiplog.ErrorCode(err) == shiplog.EINVALID {
		v.Error = shiplog.ErrorMessage(err)
	} else {
		return err
	}
	return s.renderRuleForm(w, r, v, status, f)
}

func (s *Server) ruleCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.saveRule(w, r, v, http.MethodPost, "/deployment-rules/", parseRuleForm(r.PostForm))
}

func (s *Server) ruleUpdate(w http.ResponseWriter, r *http.Request, v *view) error {
	f := parseRuleForm(r.PostForm)
	f.ID = r.PathValue("id")
	return s.saveRule(w, r, v, http.MethodPatch, rulePath(f.ID), f)
}

func (s *Server) ruleDelete(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.call(r, v, http.MethodDelete, rulePath(r.PathValue("id")), nil, nil); err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/settings/rules", "Deleted the rule.")
}
