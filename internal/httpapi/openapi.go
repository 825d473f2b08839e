package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/input"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/webhook"
	"github.com/shiplog/shiplog/internal/openapi"
	"github.com/shiplog/shiplog/internal/rule"
)

// openAPI serves the API description with this server's base URL.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	doc := *OpenAPI()
	if s.BaseURL != "" {
		doc.Servers = []openapi.Server{{URL: s.BaseURL, Description: "This server"}}
	}
	body, err := OpenAPIJSON(&doc, "")
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, body)
	return nil
}

// OpenAPIJSON encodes doc; indent "" is compact. "<" and ">" stay as they
// are (sk_<org>_…): the document is not embedded in HTML.
func OpenAPIJSON(doc *openapi.Document, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// OpenAPI returns the API's OpenAPI 3.1 document (without servers), built
// once from the operations table (openapi_ops.go) and the wire types.
// Callers must not modify it.
var OpenAPI = sync.OnceValue(buildOpenAPI)

// apiOp is one documented operation.
type apiOp struct {
	method, path string // path as clients write it: "/builds/", "/builds/{id}"
	id, tag      string
	summary      string
	desc         string
	public       bool // no authentication
	deprecated   bool
	security     *[]openapi.Requirement // overrides public/bearer when set
	params       []*openapi.Parameter
	body         *openapi.Schema // JSON request body
	bodyOptional bool
	status       int             // success status; 0 means 200
	out          *openapi.Schema // success body; nil for none
	outType      string          // success content type; default application/json
	outDesc      string
	outHeaders   map[string]*openapi.Header
	errs         []int // error statuses besides 401 (authenticated operations) and 500
	// blocked: the operation answers a preflight refusal (409/423/428).
	blocked bool
}

const errorRef = "#/components/responses/"

// errorResponses names the shared error responses by status.
var errorResponses = map[int]struct{ name, desc string }{
	400: {"BadRequest", "The request is malformed or a field is invalid; detail names the field and the accepted values."},
	401: {"Unauthorized", "Missing or invalid credentials (Authorization: Bearer <API key or personal access token>)."},
	403: {"Forbidden", "The credentials are valid but may not do this (a role is missing, or an org API key where a person is needed)."},
	404: {"NotFound", "No such resource in your organisation (ids of other organisations are not found either)."},
	409: {"Conflict", "The request conflicts with the current state (duplicate, wrong state for a transition)."},
	413: {"TooLarge", "The request body exceeds 1 MiB."},
	422: {"KeyReused", "The Idempotency-Key was already used for a different request (another operation or body) within 24 hours."},
	429: {"TooMany", "Too many at once (e.g. open event streams of one organisation); retry later."},
	500: {"Internal", "An unexpected server error; the details are logged under the response's X-Request-Id."},
	503: {"Unavailable", "The database is unreachable."},
}

func buildOpenAPI() *openapi.Document {
	ref := newReflector()
	reqID := map[string]*openapi.Header{"X-Request-Id": {Ref: "#/components/headers/X-Request-Id"}}
	doc := &openapi.Document{
		OpenAPI: openapi.Version,
		Info: openapi.Info{
			Title:   "shiplog API",
			Version: "1",
			Summary: "Record CI/CD builds and deployments, notify, and govern releases.",
			Description: "Every call but the service endpoints takes `Authorization: Bearer <token>`: an org API key " +
				"(`sk_<org>_<key id>_<secret>`) or a personal access token (`pat_…`). Errors answer " +
				"`{\"detail\": \"…\"}` with a message naming the problem. Listings are newest first and paged " +
				"with `limit` and `cursor` (`next_cursor` is null on the last page). Every response carries " +
				"`X-Request-Id` (a client's own valid id is kept), which the server's log lines for the " +
				"request carry too. See docs/api.md.",
		},
		Security: []openapi.Requirement{{"bearer": {}}},
		Tags: []openapi.Tag{
			{Name: "events", Description: "Record deployment and build events (docs/events.md)."},
			{Name: "catalogue", Description: "Products, environments, versions, deployments, builds and the status matrix."},
			{Name: "notifications", Description: "Channels, subscriptions and the delivery log (docs/notifications.md)."},
			{Name: "governance", Description: "Users, deployment requests and version approvals (docs/governance.md)."},
			{Name: "rules", Description: "Deployment rules and preflight checks (docs/rules.md)."},
			{Name: "reports", Description: "Reports computed from the event history."},
			{Name: "service", Description: "Health, readiness, metrics and this document."},
		},
		Paths: map[string]openapi.PathItem{},
		Components: openapi.Components{
			Headers: map[string]*openapi.Header{"X-Request-Id": {
				Description: "The request's id: the client's X-Request-Id when valid (1-128 of A-Z a-z 0-9 - _ . : / + = @), else a new one.",
				Schema:      &openapi.Schema{Type: "string"}}},
			SecuritySchemes: map[string]*openapi.SecurityScheme{
				"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "sk_<org>_<key id>_<secret> or pat_…",
					Description: "An org API key (made by `shiplog org create` / `shiplog apikey create`) or a user's personal access token."},
				"metricsToken": {Type: "http", Scheme: "bearer",
					Description: "The server's --metrics-token, when one is set; otherwise GET /metrics is open."},
			},
			Responses: map[string]*openapi.Response{},
		},
	}
	errSchema := &openapi.Schema{Type: "object", Required: []string{"detail"}, Properties: map[string]*openapi.Schema{
		"detail": {Type: "string", Description: "What went wrong, for people: it names the field or value at fault."}}}
	ref.Schemas["Error"] = errSchema
	ref.Schemas["PreflightBlocked"] = preflightBlockedSchema()
	for _, e := range errorResponses {
		doc.Components.Responses[e.name] = &openapi.Response{Description: e.desc, Headers: reqID,
			Content: map[string]*openapi.MediaType{"application/json": {Schema: openapi.Ref("Error")}}}
	}
	doc.Components.Responses["PreflightBlocked"] = &openapi.Response{
		Description: "Blocked by a deployment rule (409 concurrent deployment or flow, 423 no-deploy window, " +
			"428 approval required); the deployment is recorded as aborted with preflight_failed (docs/rules.md).",
		Headers: reqID, Content: map[string]*openapi.MediaType{"application/json": {Schema: openapi.Ref("PreflightBlocked")}}}

	for _, op := range operations(ref) {
		item := doc.Paths[op.path]
		if item == nil {
			item = openapi.PathItem{}
			doc.Paths[op.path] = item
		}
		m := strings.ToLower(op.method)
		if item[m] != nil {
			panic(fmt.Sprintf("openapi: %s %s documented twice", op.method, op.path))
		}
		o := op.operation(reqID)
		limitSchema(ref.Schemas, op.body, BodyLimits(op.method, op.path), "", "")
		if a := mustAccess(op.method + " " + op.path); !a.Public {
			o.Permission = &openapi.Permission{Roles: a.Roles, Note: a.Note}
			for _, c := range a.Creds {
				o.Permission.Credentials = append(o.Permission.Credentials, string(c))
			}
			if len(a.Roles) < len(shiplog.Roles) || len(a.Creds) < len(anyCred) {
				o.Responses["403"] = &openapi.Response{Ref: errorRef + errorResponses[403].name}
			}
		}
		item[m] = o
	}
	doc.Components.Schemas = ref.Schemas
	return doc
}

func (op apiOp) operation(reqID map[string]*openapi.Header) *openapi.Operation {
	o := &openapi.Operation{OperationID: op.id, Summary: op.summary, Description: op.desc, Tags: []string{op.tag},
		Parameters: op.params, Deprecated: op.deprecated, Responses: map[string]*openapi.Response{}}
	switch {
	case op.security != nil:
		o.Security = op.security
	case op.public:
		o.Security = &[]openapi.Requirement{}
	}
	if op.body != nil {
		o.RequestBody = &openapi.RequestBody{Required: !op.bodyOptional,
			Content: map[string]*openapi.MediaType{"application/json": {Schema: op.body}}}
	}
	status := op.status
	if status == 0 {
		status = http.StatusOK
	}
	ok := &openapi.Response{Description: op.outDesc, Headers: reqID}
	if ok.Description == "" {
		ok.Description = http.StatusText(status)
	}
	if len(op.outHeaders) > 0 {
		ok.Headers = map[string]*openapi.Header{}
		for k, v := range reqID {
			ok.Headers[k] = v
		}
		for k, v := range op.outHeaders {
			ok.Headers[k] = v
		}
	}
	if op.out != nil {
		ct := op.outType
		if ct == "" {
			ct = "application/json"
		}
		ok.Content = map[string]*openapi.MediaType{ct: {Schema: op.out}}
	}
	o.Responses[strconv.Itoa(status)] = ok
	errs := append([]int{500}, op.errs...)
	if !op.public && op.security == nil {
		errs = append(errs, 401)
	}
	for _, code := range errs {
		e, known := errorResponses[code]
		if !known {
			panic(fmt.Sprintf("openapi: no shared response for %d (%s %s)", code, op.method, op.path))
		}
		o.Responses[strconv.Itoa(code)] = &openapi.Response{Ref: errorRef + e.name}
	}
	if op.blocked {
		o.Responses["423"] = &openapi.Response{Ref: errorRef + "PreflightBlocked"}
		o.Responses["428"] = &openapi.Response{Ref: errorRef + "PreflightBlocked"}
		o.Responses["409"] = &openapi.Response{
			Description: errorResponses[409].desc + " For a deployment, also a preflight refusal (a PreflightBlocked body).",
			Headers:     reqID,
			Content: map[string]*openapi.MediaType{"application/json": {Schema: &openapi.Schema{
				OneOf: []*openapi.Schema{openapi.Ref("Error"), openapi.Ref("PreflightBlocked")}}}}}
	}
	return o
}

func preflightBlockedSchema() *openapi.Schema {
	str := func(d string) *openapi.Schema { return &openapi.Schema{Type: "string", Description: d} }
	return &openapi.Schema{Type: "object", Required: []string{"detail"},
		Description: "A deployment refused by a rule (versioner.md §4.6).",
		Properties: map[string]*openapi.Schema{"detail": {Type: "object", Required: []string{"error", "message", "code", "details"},
			Properties: map[string]*openapi.Schema{
				"error":   {Type: "string", Const: "deployment_blocked"},
				"message": str("Why, for people."),
				"code": {Type: "string", Description: "Clients should tolerate codes added later.",
					Examples: []any{rule.CodeConcurrentDeployment, rule.CodeNoDeployWindow, rule.CodeFlowViolation,
						rule.CodeInsufficientSoakTime, rule.CodeApprovalRequired, rule.CodeQualityApprovalRequired, rule.CodeInvalidRule}},
				"retry_after": {Type: "string", Format: "date-time",
					Description: "When a retry may pass (UTC, rounded up to the second); absent when unknown."},
				"details": {Type: "object", Required: []string{"rule_name"}, AdditionalProperties: true,
					Description: "rule_name plus code-specific keys (docs/rules.md).",
					Properties:  map[string]*openapi.Schema{"rule_name": str("The rule that refused.")}},
			}}}}
}

// newReflector knows the wire types' enums, names and required fields.
func newReflector() *openapi.Reflector {
	eventTypes := func(ts []shiplog.EventType) []string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = string(t)
		}
		return out
	}
	envTypes := make([]string, len(shiplog.EnvTypes))
	for i, e := range shiplog.EnvTypes {
		envTypes[i] = string(e)
	}
	arrayOf := func(vals []string) *openapi.Schema {
		s := &openapi.Schema{Type: "array", Items: &openapi.Schema{Type: "string"}}
		for _, v := range vals {
			s.Items.Enum = append(s.Items.Enum, v)
		}
		return s
	}
	r := &openapi.Reflector{
		Schemas: map[string]*openapi.Schema{},
		Names:   map[reflect.Type]string{reflect.TypeFor[ruleOut](): "Rule"},
		Enums: map[reflect.Type][]string{
			reflect.TypeFor[shiplog.Status]():        {"pending", "started", "completed", "failed", "aborted"},
			reflect.TypeFor[shiplog.EnvType]():       envTypes,
			reflect.TypeFor[shiplog.ChannelKind]():   channelKinds(),
			reflect.TypeFor[shiplog.DeliveryState](): {"queued", "succeeded", "failed", "cancelled"},
			reflect.TypeFor[shiplog.DRStatus](): {"draft", "in_progress", "approved", "rejected", "completed",
				"cancelled"},
			reflect.TypeFor[shiplog.SlotStatus](): {"pending", "approved", "rejected"},
			reflect.TypeFor[shiplog.Kind]():       {"deployment", "build"},
			reflect.TypeFor[rule.Type](): {string(rule.TypeSchedule), string(rule.TypeFlow),
				string(rule.TypeDeploymentRequestRequired), string(rule.TypeVersionApprovalRequired)},
			reflect.TypeFor[rule.Status](): {string(rule.StatusEnabled), string(rule.StatusReportOnly), string(rule.StatusDisabled)},
		},
		Required: map[reflect.Type][]string{
			reflect.TypeFor[apiv1.DeploymentEventRequest](): {"product_name", "version", "environment_name", "status"},
			reflect.TypeFor[apiv1.BuildEventRequest]():      {"product_name", "version", "status"},
			reflect.TypeFor[apiv1.PreferenceInput]():        {"event_type", "channel_id"},
			reflect.TypeFor[apiv1.RecoverInput]():           {"since"},
			reflect.TypeFor[apiv1.DRInput]():                {"name", "environment_names"},
			reflect.TypeFor[apiv1.SlotInput]():              {"approval_type"},
			reflect.TypeFor[shiplog.DRItem]():               {"product_name", "version"},
			reflect.TypeFor[apiv1.VersionApprovalInput]():   {"approval_type"},
			reflect.TypeFor[apiv1.PreflightInput]():         {"product_name", "version", "environment_name"},
			reflect.TypeFor[rule.Schedule]():                {"recurrence", "start", "end"},
		},
	}
	evaluation := r.Response(reflect.TypeFor[rule.Evaluation]())
	deployWords := "Any accepted word, case-insensitive: " + strings.Join(shiplog.StatusWords(shiplog.KindDeployment), ", ") +
		". Stored as pending, started, completed, failed or aborted."
	buildWords := "Any accepted word, case-insensitive: " + strings.Join(shiplog.StatusWords(shiplog.KindBuild), ", ") + "."
	metadata := openapi.Field{Schema: &openapi.Schema{Type: "object", AdditionalProperties: true},
		Description: "A JSON object, merged key by key into the record's (the newer event wins)."}
	r.Fields = map[string]openapi.Field{
		"DeploymentEventRequest.status":         {Description: deployWords, Example: "success"},
		"DeploymentEventRequest.extra_metadata": metadata,
		"DeploymentEventRequest.skip_preflight_checks": {Description: "The org's rules do not judge this event. Org API keys " +
			"and owners or admins may send it (the permission table in docs/governance.md); others get 403."},
		"DeploymentEventRequest.invoke_id":    {Description: "The CI run's id: later events with it update the same deployment."},
		"DeploymentEventRequest.product_name": {Example: "checkout-api"},
		"DeploymentEventRequest.version":      {Example: "1.4.2"},
		"DeploymentEventRequest.environment_name": {Example: "production",
			Description: "Created on first sight; its type is inferred from the name (docs/events.md)."},
		"BuildEventRequest.status":         {Description: buildWords, Example: "completed"},
		"BuildEventRequest.extra_metadata": metadata,
		"EnvironmentPatch.type":            {Enum: envTypes},
		"EnvironmentPatch.description":     {Description: "At most 2000 bytes."},
		"ChannelInput.kind": {Enum: append(channelKinds(), "STANDARD", "SLACK"),
			Description: "Required on create; cannot be changed. Qovery's STANDARD is a webhook with format qovery, its SLACK a slack channel."},
		"ChannelInput.config": {Description: "The kind's own settings (see docs/notifications.md); on PATCH the keys given replace " +
			"the channel's, null removes one. signature_scheme, recipients and format may also be given top-level."},
		"ChannelInput.events": {Description: "Subscribed event types; governance events reach webhook channels only. " +
			"Qovery's names (DEPLOYMENT_STARTED…) stand for shiplog's.",
			Schema: arrayOf(append(eventTypes(append(append([]shiplog.EventType{}, notify.CICDEvents...), notify.GovernanceEvents...)),
				webhook.QoveryEventNames...))},
		"ChannelInput.format": {Enum: webhook.Formats,
			Description: "Webhooks: the body's format (docs/notifications.md#webhook-formats); versioner by default."},
		"ChannelInput.target_url":           {Description: "Qovery's name for url."},
		"ChannelInput.project_names_filter": {Description: "Qovery's name for product_names_filter."},
		"Channel.format":                    {Enum: webhook.Formats, Description: "Webhooks: the body's format."},
		"ChannelInput.environment_types_filter": {Schema: arrayOf(notify.EnvFilterValues),
			Description: "Only events in environments of these types (any case); empty: all."},
		"ChannelInput.product_names_filter": {Description: "Product names, or prefixes ending in *; empty: all."},
		"ChannelInput.url":                  {Description: "Webhook URL, or the Slack, Teams or Discord webhook URL (kept secret)."},
		"ChannelInput.secret": {Description: "Webhook signing secret (write-only); \"\" removes it. " +
			"standard-webhooks channels get one generated (whsec_…) when none is given."},
		"ChannelInput.signature_scheme": {Enum: []string{"versioner", "standard-webhooks"}},
		"ChannelInput.recipients":       {Description: "Email channels: addresses, lists, or \"owners\"."},
		"ChannelInput.retry_schedule": {Description: "Delays between attempts as Go durations (\"5s\", \"5m\", \"2h\"), " +
			"1 s to 24 h, at most 20."},
		"Channel.url":                        {Description: "Webhooks: the URL. Slack, Teams, Discord: masked."},
		"Channel.secret":                     {Description: "Present once: in the answer that generated the secret."},
		"Channel.secret_hint":                {Description: "The secret's last characters (…abcd), or null."},
		"RecoverInput.since":                 {Format: "date-time", Description: "Failed deliveries created since then are queued again."},
		"UserInput.roles":                    {Schema: arrayOf(shiplog.Roles)},
		"UserInput.email":                    {Description: "On create only."},
		"UserInput.password":                 {Description: "Optional, at least 12 characters, for the web console; on create only."},
		"SlotInput.approval_type":            {Enum: shiplog.ApprovalTypes},
		"SlotInput.required":                 {Description: "Default true."},
		"VersionApprovalInput.approval_type": {Enum: shiplog.ApprovalTypes},
		"VersionApprovalInput.environment_name": {
			Description: "Scope the sign-off to one environment; omitted: every environment."},
		"PreflightResult.rules_evaluated": {Schema: &openapi.Schema{Type: "array", Items: evaluation}},
		"PreflightResult.warnings": {Schema: &openapi.Schema{Type: "array", Items: evaluation},
			Description: "report_only rules that would have refused."},
		"Attempt.outcome":                         {Enum: []string{"succeeded", "retry", "failed", "cancelled"}},
		"Attempt.response_body":                   {Description: "The receiver's answer, first 4 KiB."},
		"Delivery.payload":                        {Description: "What is (or was) sent; empty when the event was pruned."},
		"DeliveryDetail.payload":                  {Description: "What is (or was) sent; empty when the event was pruned."},
		"Event.payload":                           {Description: "The request's fields as received."},
		"Event.seq":                               {Description: "Store-assigned and increasing: the resume point of GET /events/stream."},
		"DeploymentEventResponse.soak_time_hours": {Description: "Reserved; null."},
	}
	return r
}

// limitSchema writes the input contract's limits into a request body's
// schema: maxLength on each string (in bytes, as the server counts; a
// string's characters may be fewer) and maxItems on each array, following
// component references. path is the field's path in the "[]" form.
func limitSchema(components map[string]*openapi.Schema, s *openapi.Schema, l *input.Limits, path, seen string) {
	if s == nil {
		return
	}
	if name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/"); ok {
		if strings.Contains(seen, "/"+name+"/") {
			return
		}
		limitSchema(components, components[name], l, path, seen+"/"+name+"/")
		return
	}
	switch schemaType(s) {
	case "string":
		if s.Format == "" && s.Enum == nil && path != "" {
			s.MaxLength = ptr(l.String(path))
		}
	case "array":
		s.MaxItems = ptr(l.ItemsAt(path))
		limitSchema(components, s.Items, l, path+"[]", seen)
	case "object":
		for name, p := range s.Properties {
			limitSchema(components, p, l, join(path, name), seen)
		}
	}
	for _, alt := range append(s.OneOf, s.AnyOf...) {
		limitSchema(components, alt, l, path, seen)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// schemaType is a schema's type, "null" aside (nullable fields list two).
func schemaType(s *openapi.Schema) string {
	switch t := s.Type.(type) {
	case string:
		return t
	case []string:
		for _, n := range t {
			if n != "null" {
				return n
			}
		}
	case []any:
		for _, n := range t {
			if n, ok := n.(string); ok && n != "null" {
				return n
			}
		}
	}
	return ""
}
