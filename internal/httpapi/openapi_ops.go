package httpapi

import (
	"reflect"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/openapi"
	lifecycle "github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/rule"
	"github.com/shiplog/shiplog/internal/store"
)

// operations documents every route Handler registers, plus those listed in
// the test's pendingRoutes. TestOpenAPIMatchesRoutes holds the two lists
// to each other: a route added without its entry here fails it.
func operations(ref *openapi.Reflector) []apiOp {
	resp := func(t reflect.Type) *openapi.Schema { return ref.Response(t) }
	req := func(t reflect.Type) *openapi.Schema { return ref.Request(t) }
	list := func(item *openapi.Schema, paged bool) *openapi.Schema {
		cursor := &openapi.Schema{Type: []string{"string", "null"}, Description: "Pass as ?cursor= for the next page; null on the last page."}
		if !paged {
			cursor = &openapi.Schema{Type: "null", Description: "Always null: this listing is not paged."}
		}
		return &openapi.Schema{Type: "object", Required: []string{"items", "next_cursor"}, Properties: map[string]*openapi.Schema{
			"items": {Type: "array", Items: item}, "next_cursor": cursor}}
	}
	str := &openapi.Schema{Type: "string"}
	id := func(name, what string) *openapi.Parameter {
		return &openapi.Parameter{Name: name, In: "path", Required: true, Description: what,
			Schema: &openapi.Schema{Type: "string", Format: "uuid"}}
	}
	q := func(name, desc string) *openapi.Parameter {
		return &openapi.Parameter{Name: name, In: "query", Description: desc, Schema: str}
	}
	limit, maxLimit, defLimit := float64(1), float64(store.MaxLimit), store.DefaultLimit
	paging := []*openapi.Parameter{
		{Name: "limit", In: "query", Description: "Items per page.",
			Schema: &openapi.Schema{Type: "integer", Minimum: &limit, Maximum: &maxLimit, Default: defLimit}},
		{Name: "cursor", In: "query", Description: "The next_cursor of the previous page.", Schema: str},
	}
	with := func(ps ...*openapi.Parameter) []*openapi.Parameter {
		return append(append([]*openapi.Parameter{}, ps...), paging...)
	}
	statusParam := func(k shiplog.Kind) *openapi.Parameter {
		return q("status", "Only runs in this state; any accepted status word: "+strings.Join(shiplog.StatusWords(k), ", ")+".")
	}
	idem := &openapi.Parameter{Name: "Idempotency-Key", In: "header", Schema: &openapi.Schema{Type: "string", MaxLength: ptr(255)},
		Description: "Repeat the first answer (for 24 h) instead of recording the event again: safe retries from CI. " +
			"Bound to the request it was first used with (method, operation, body): another request with it is a 422."}
	replayed := map[string]*openapi.Header{"Idempotent-Replayed": {Schema: &openapi.Schema{Type: "string", Enum: []any{"true"}},
		Description: "Present when the answer is the stored first answer to this Idempotency-Key."}}
	dr := resp(reflect.TypeFor[shiplog.DeploymentRequest]())
	ruleSchema := resp(reflect.TypeFor[ruleOut]())
	channel := resp(reflect.TypeFor[apiv1.Channel]())
	channelID := id("id", "The channel's id.")
	drID := id("id", "The deployment request's id.")
	product := &openapi.Parameter{Name: "product", In: "path", Required: true, Description: "The product's name.", Schema: str}
	version := &openapi.Parameter{Name: "version", In: "path", Required: true, Description: "The version's name.", Schema: str}

	ops := []apiOp{
		// Service.
		{method: "GET", path: "/healthz", id: "health", tag: "service", public: true, summary: "Liveness",
			desc: "Answers while the process serves HTTP; it does not touch the database (see /readyz).",
			out:  &openapi.Schema{Type: "object", Properties: map[string]*openapi.Schema{"status": {Type: "string", Const: "ok"}}}},
		{method: "GET", path: "/health", id: "healthAlias", tag: "service", public: true, summary: "Liveness (alias of /healthz)",
			out: &openapi.Schema{Type: "object", Properties: map[string]*openapi.Schema{"status": {Type: "string", Const: "ok"}}}},
		{method: "GET", path: "/readyz", id: "ready", tag: "service", public: true, summary: "Readiness: the database answers",
			errs: []int{503},
			out: &openapi.Schema{Type: "object", Properties: map[string]*openapi.Schema{"status": {Type: "string", Const: "ready"},
				"database": {Type: "string", Enum: []any{"sqlite", "postgres"}}}}},
		{method: "GET", path: "/metrics", id: "metrics", tag: "service", summary: "Prometheus metrics",
			desc: "The Prometheus exposition format (text, or protobuf by content negotiation). Open unless the server " +
				"runs with --metrics-token; no org appears in any label (docs/metrics.md). 404 when metrics are disabled.",
			security: &[]openapi.Requirement{{}, {"metricsToken": {}}}, errs: []int{401, 404},
			outType: "text/plain", out: &openapi.Schema{Type: "string"}},
		{method: "GET", path: "/openapi.json", id: "openapi", tag: "service", public: true, summary: "This document",
			desc: "The OpenAPI 3.1 description of the API, with this server's base URL in servers (docs/api.md).",
			out:  &openapi.Schema{Type: "object", AdditionalProperties: true}},

		// Events.
		{method: "POST", path: "/deployment-events/", id: "postDeploymentEvent", tag: "events", summary: "Record a deployment event",
			desc: "Creates or moves the deployment of product × version × environment (docs/events.md); products, " +
				"environments and versions are created on first sight. A started deployment is first judged by the org's " +
				"rules (a pending one is a queue entry and is not): a refused one is recorded as aborted and answered 409, " +
				"423 or 428. skip_preflight_checks skips them where the org's policy lets this credential skip (GET " +
				"/org-settings/), else 403; the run records preflight_status skipped and preflight_skipped_by. 409 also " +
				"when the version exists with another scm_sha.",
			params: []*openapi.Parameter{idem}, body: req(reflect.TypeFor[apiv1.DeploymentEventRequest]()),
			out: resp(reflect.TypeFor[apiv1.DeploymentEventResponse]()), outHeaders: replayed,
			outDesc: "The deployment as it stands after the event.", errs: []int{400, 403, 413, 422}, blocked: true},
		{method: "POST", path: "/build-events/", id: "postBuildEvent", tag: "events", summary: "Record a build event",
			desc:   "Creates or moves the build of product × version (docs/events.md). 409 when the version exists with another scm_sha.",
			params: []*openapi.Parameter{idem}, body: req(reflect.TypeFor[apiv1.BuildEventRequest]()),
			out: resp(reflect.TypeFor[apiv1.BuildEventResponse]()), outHeaders: replayed,
			outDesc: "The build as it stands after the event.", errs: []int{400, 409, 413, 422}},
		{method: "POST", path: "/version-events/", id: "postVersionEvent", tag: "events", deprecated: true,
			summary: "Record a build event (legacy alias of /build-events/)",
			params:  []*openapi.Parameter{idem}, body: req(reflect.TypeFor[apiv1.BuildEventRequest]()),
			out: resp(reflect.TypeFor[apiv1.BuildEventResponse]()), outHeaders: replayed, errs: []int{400, 409, 413, 422}},
		{method: "GET", path: "/events/stream", id: "streamEvents", tag: "events", summary: "Stream events as they are recorded",
			desc: "Server-sent events (text/event-stream): one message per recorded event of the org, in commit order. " +
				"Its id is an opaque cursor (the event's seq on SQLite, \"<txid>-<seq>\" on PostgreSQL), its event field the " +
				"event type and its data the JSON body a webhook receiver gets for that event. Without an id the stream starts " +
				"at its current end. A reconnecting client sends Last-Event-ID (browsers' EventSource does so itself) or " +
				"?last_event_id= and resumes after that event, missing nothing. See docs/stream.md.",
			params: []*openapi.Parameter{
				{Name: "Last-Event-ID", In: "header", Description: "Resume after the event with this id (the cursor of the last frame received).", Schema: str},
				q("last_event_id", "As Last-Event-ID, for clients that cannot set headers."),
				q("types", "Comma-separated event types to receive; a trailing * matches a prefix (deployment.*). Default: all."),
			},
			outType: "text/event-stream", out: &openapi.Schema{Type: "string",
				Description: "retry: <ms>, then frames id: <cursor>\\nevent: <event_type>\\ndata: <webhook JSON>\\n\\n; comment lines keep the connection alive."},
			errs: []int{400, 429}},

		// Catalogue.
		{method: "GET", path: "/products/", id: "listProducts", tag: "catalogue", summary: "List products",
			params: paging, out: list(resp(reflect.TypeFor[shiplog.Product]()), true), errs: []int{400}},
		{method: "GET", path: "/environments/", id: "listEnvironments", tag: "catalogue", summary: "List environments",
			params: paging, out: list(resp(reflect.TypeFor[shiplog.Environment]()), true), errs: []int{400}},
		{method: "GET", path: "/environments/{id}", id: "getEnvironment", tag: "catalogue", summary: "Get an environment",
			params: []*openapi.Parameter{id("id", "The environment's id.")}, out: resp(reflect.TypeFor[shiplog.Environment]()),
			errs: []int{404}},
		{method: "PATCH", path: "/environments/{id}", id: "patchEnvironment", tag: "catalogue",
			summary: "Change an environment's type or description",
			desc:    "Fields left out keep their value; later events never reset the type.",
			params:  []*openapi.Parameter{id("id", "The environment's id.")}, body: req(reflect.TypeFor[apiv1.EnvironmentPatch]()),
			out: resp(reflect.TypeFor[shiplog.Environment]()), errs: []int{400, 404, 413}},
		{method: "GET", path: "/versions/", id: "listVersions", tag: "catalogue", summary: "List versions",
			params: with(q("product_name", "Only this product's versions (also ?product=)."), q("scm_sha", "Only versions with this commit.")),
			out:    list(resp(reflect.TypeFor[shiplog.Version]()), true), errs: []int{400}},
		{method: "GET", path: "/versions/{id}", id: "getVersion", tag: "catalogue", summary: "Get a version with its approvals",
			params: []*openapi.Parameter{id("id", "The version's id.")}, out: resp(reflect.TypeFor[apiv1.VersionDetail]()),
			errs: []int{404}},
		{method: "GET", path: "/deployments/", id: "listDeployments", tag: "catalogue", summary: "List deployments",
			params: with(q("product_name", "Only this product (also ?product=)."),
				q("environment_name", "Only this environment (also ?environment=)."), statusParam(shiplog.KindDeployment),
				q("version", "Only this version."),
				q("order", "received (default): newest report first, by id; time: by deployed_at, newest first, so backfilled history falls into place. The cursor works with either.")),
			out: list(resp(reflect.TypeFor[shiplog.Deployment]()), true), errs: []int{400}},
		{method: "GET", path: "/deployments/{id}", id: "getDeployment", tag: "catalogue", summary: "Get a deployment with its timeline",
			params: []*openapi.Parameter{id("id", "The deployment's id.")}, out: resp(reflect.TypeFor[apiv1.DeploymentDetail]()),
			errs: []int{404}},
		{method: "POST", path: "/deployments/{id}/abort", id: "abortDeployment", tag: "rules", summary: "Mark a run aborted",
			desc: "For a run whose pipeline died before reporting how it ended: a pending or started deployment becomes " +
				"aborted and stops blocking its product in its environment. Records a deployment.aborted event naming who " +
				"did it (submitted_by) and why (payload.reason), and notifies like any other. 409 when the run has already finished. " +
				"Org API keys, and people whose roles may deploy (owner, admin, release_manager, developer, sre).",
			params: []*openapi.Parameter{id("id", "The deployment's id.")}, body: req(reflect.TypeFor[apiv1.AbortInput]()),
			bodyOptional: true, out: resp(reflect.TypeFor[apiv1.DeploymentEventResponse]()),
			outDesc: "The deployment, now aborted.", errs: []int{400, 403, 404, 409, 413}},
		{method: "GET", path: "/builds/", id: "listBuilds", tag: "catalogue", summary: "List builds",
			params: with(q("product_name", "Only this product (also ?product=)."), q("version", "Only this version."),
				statusParam(shiplog.KindBuild),
				q("order", "received (default): newest report first, by id; time: by build time (completed_at, else started_at, else created_at), newest first.")),
			out: list(resp(reflect.TypeFor[shiplog.Build]()), true), errs: []int{400}},
		{method: "GET", path: "/builds/{id}", id: "getBuild", tag: "catalogue", summary: "Get a build with its timeline",
			params: []*openapi.Parameter{id("id", "The build's id.")}, out: resp(reflect.TypeFor[apiv1.BuildDetail]()),
			errs: []int{404}},
		{method: "GET", path: "/status/", id: "status", tag: "catalogue", summary: "What runs where",
			desc: "Every product × environment that has seen a deployment: the newest completed deployment (current) and the newest of any state (latest).",
			out:  list(resp(reflect.TypeFor[apiv1.StatusCell]()), false)},

		// Notifications.
		{method: "POST", path: "/notification-channels/", id: "createChannel", tag: "notifications", summary: "Create a channel",
			desc: "kind, name and events are required, with url (slack, webhook) or recipients (email).",
			body: req(reflect.TypeFor[apiv1.ChannelInput]()), status: 201, out: channel, errs: []int{400, 413}},
		{method: "GET", path: "/notification-channels/", id: "listChannels", tag: "notifications", summary: "List channels",
			out: list(channel, false)},
		{method: "GET", path: "/notification-channels/{id}", id: "getChannel", tag: "notifications", summary: "Get a channel",
			params: []*openapi.Parameter{channelID}, out: channel, errs: []int{404}},
		{method: "PATCH", path: "/notification-channels/{id}", id: "patchChannel", tag: "notifications", summary: "Change a channel",
			desc:   "Fields left out keep their value; kind cannot change. Enabling a disabled channel clears its failure history.",
			params: []*openapi.Parameter{channelID}, body: req(reflect.TypeFor[apiv1.ChannelInput]()), out: channel,
			errs: []int{400, 404, 413}},
		{method: "DELETE", path: "/notification-channels/{id}", id: "deleteChannel", tag: "notifications",
			summary: "Delete a channel with its subscriptions and delivery log",
			params:  []*openapi.Parameter{channelID}, status: 204, errs: []int{404}},
		{method: "GET", path: "/notification-channels/{id}/deliveries", id: "listDeliveries", tag: "notifications",
			summary: "A channel's delivery log, newest first",
			params:  with(channelID, q("state", "Only deliveries in these states, separated by commas: queued, succeeded, failed, cancelled.")),
			out:     list(resp(reflect.TypeFor[shiplog.Delivery]()), true), errs: []int{400, 404}},
		{method: "POST", path: "/notification-channels/{id}/recover", id: "recoverChannel", tag: "notifications",
			summary: "Queue again every failed delivery since a time",
			params:  []*openapi.Parameter{channelID}, body: req(reflect.TypeFor[apiv1.RecoverInput]()), status: 202,
			out: &openapi.Schema{Type: "object", Required: []string{"requeued"},
				Properties: map[string]*openapi.Schema{"requeued": {Type: "integer"}}},
			errs: []int{400, 404, 413}},
		{method: "POST", path: "/notification-channels/{id}/test", id: "testChannel", tag: "notifications",
			summary: "Send a sample deployment.completed now",
			desc:    "One attempt, recorded in the delivery log; the answer carries the receiver's status, headers and body.",
			params:  []*openapi.Parameter{channelID}, out: resp(reflect.TypeFor[apiv1.TestResult]()), errs: []int{404}},
		{method: "POST", path: "/notification-preferences/", id: "createPreference", tag: "notifications",
			summary: "Subscribe a channel to one more event type",
			body:    req(reflect.TypeFor[apiv1.PreferenceInput]()), status: 201, out: resp(reflect.TypeFor[shiplog.Subscription]()),
			errs: []int{400, 409, 413}},
		{method: "GET", path: "/notification-preferences/", id: "listPreferences", tag: "notifications", summary: "List subscriptions",
			out: list(resp(reflect.TypeFor[shiplog.Subscription]()), false)},
		{method: "DELETE", path: "/notification-preferences/{id}", id: "deletePreference", tag: "notifications", summary: "Unsubscribe",
			params: []*openapi.Parameter{id("id", "The subscription's id.")}, status: 204, errs: []int{404}},
		{method: "GET", path: "/deliveries/{id}", id: "getDelivery", tag: "notifications", summary: "A delivery with its payload and attempts",
			params: []*openapi.Parameter{id("id", "The delivery's id (also the webhook-id header).")},
			out:    resp(reflect.TypeFor[apiv1.DeliveryDetail]()), errs: []int{404}},
		{method: "POST", path: "/deliveries/{id}/redeliver", id: "redeliver", tag: "notifications",
			summary: "Queue a finished delivery again (same webhook-id)",
			params:  []*openapi.Parameter{id("id", "The delivery's id.")}, status: 202, out: resp(reflect.TypeFor[shiplog.Delivery]()),
			errs: []int{404, 409}},

		// Governance.
		{method: "GET", path: "/users/", id: "listUsers", tag: "governance", summary: "List users",
			out: list(resp(reflect.TypeFor[shiplog.User]()), false), errs: []int{403}},
		{method: "POST", path: "/users/", id: "createUser", tag: "governance", summary: "Add a user",
			desc: "email and roles are required.", body: req(reflect.TypeFor[apiv1.UserInput]()), status: 201,
			out: resp(reflect.TypeFor[shiplog.User]()), errs: []int{400, 403, 409, 413}},
		{method: "PATCH", path: "/users/{id}", id: "patchUser", tag: "governance", summary: "Change a user's name or roles",
			desc:   "Only name and roles may be given. Nobody changes their own roles; the last admin stays an admin (409).",
			params: []*openapi.Parameter{id("id", "The user's id.")}, body: req(reflect.TypeFor[apiv1.UserInput]()),
			out: resp(reflect.TypeFor[shiplog.User]()), errs: []int{400, 403, 404, 409, 413}},
		{method: "DELETE", path: "/users/{id}", id: "deleteUser", tag: "governance", summary: "Delete a user (a tombstone)",
			desc: "The person can never act again: tokens revoked, sessions ended, password and reset links gone, the address " +
				"free for someone new. Their id and name stay on every approval, sign-off and request they made. Not yourself; " +
				"the last active admin stays (409).",
			params: []*openapi.Parameter{id("id", "The user's id.")}, out: resp(reflect.TypeFor[shiplog.User]()),
			errs: []int{403, 404, 409}},
		{method: "POST", path: "/users/{id}/deactivate", id: "deactivateUser", tag: "governance", summary: "Deactivate a user",
			desc: "Their console sessions end and their personal tokens are refused from the next request on, until they are " +
				"reactivated. Not yourself; the last active admin stays (409). Deactivating twice keeps the first time.",
			params: []*openapi.Parameter{id("id", "The user's id.")}, out: resp(reflect.TypeFor[shiplog.User]()),
			errs: []int{403, 404, 409}},
		{method: "POST", path: "/users/{id}/reactivate", id: "reactivateUser", tag: "governance", summary: "Reactivate a user",
			desc:   "Their personal tokens that were not revoked work again; they sign in again to the console.",
			params: []*openapi.Parameter{id("id", "The user's id.")}, out: resp(reflect.TypeFor[shiplog.User]()),
			errs: []int{403, 404}},
		{method: "POST", path: "/users/{id}/reset-link", id: "issueResetLink", tag: "governance",
			summary: "Issue a one-time password reset link",
			desc: "The link works once, for 24 hours, and replaces the person's earlier links; only a hash of its token is " +
				"stored. With SMTP configured it is emailed to the person and the answer has no url; otherwise the answer " +
				"carries the url for you to pass on. 409 for a deactivated person.",
			params: []*openapi.Parameter{id("id", "The user's id.")}, status: 201,
			out: resp(reflect.TypeFor[lifecycle.ResetLink]()), errs: []int{403, 404, 409}},
		{method: "GET", path: "/tokens/", id: "listTokens", tag: "governance", summary: "List personal access tokens",
			desc:   "Your own tokens; owners and admins get every token of the organisation. Never a secret.",
			params: []*openapi.Parameter{q("user_id", "Only this person's tokens (owners and admins, or your own id).")},
			out:    list(resp(reflect.TypeFor[apiv1.PersonalToken]()), false), errs: []int{400, 403}},
		{method: "POST", path: "/tokens/", id: "createToken", tag: "governance", summary: "Create a personal access token for yourself",
			desc: "The answer carries the full token (pat_<token_id>_<secret>) this once; it is stored only as a hash. " +
				"The body is optional.",
			body: req(reflect.TypeFor[apiv1.TokenInput]()), status: 201,
			out: resp(reflect.TypeFor[apiv1.PersonalToken]()), errs: []int{400, 403, 413}},
		{method: "DELETE", path: "/tokens/{id}", id: "revokeToken", tag: "governance", summary: "Revoke a personal access token",
			desc: "By row id, token id, or the whole token text. Your own; owners and admins revoke anyone's in the " +
				"organisation. Requests with it are refused from the next one on. Revoking twice keeps the first time.",
			params: []*openapi.Parameter{{Name: "id", In: "path", Required: true, Schema: str,
				Description: "The token's row id, its token id (after pat_), or the token itself."}},
			out: resp(reflect.TypeFor[apiv1.PersonalToken]()), errs: []int{403, 404}},
		{method: "POST", path: "/account/password", id: "changePassword", tag: "governance", summary: "Change your own password",
			desc: "The current password is required (403 when wrong). Your other console sessions end; tokens keep working.",
			body: req(reflect.TypeFor[apiv1.PasswordChangeInput]()), status: 204, errs: []int{400, 403, 409, 413}},
		{method: "POST", path: "/account/reset-password", id: "resetPassword", tag: "governance",
			summary: "Set a password with a reset link's token",
			desc: "No credentials: the link's token (rst_…) is one. It works once, before it expires; every console " +
				"session of the person ends. Any unusable token gets the same 400.",
			body: req(reflect.TypeFor[apiv1.PasswordResetInput]()), status: 204, errs: []int{400, 413}},
		{method: "GET", path: "/api-keys/", id: "listAPIKeys", tag: "governance", summary: "List the org's API keys",
			desc: "Key ids, names, hints (last characters), created, last used and revoked times; never a secret.",
			out:  list(resp(reflect.TypeFor[apiv1.APIKey]()), false), errs: []int{403}},
		{method: "POST", path: "/api-keys/", id: "createAPIKey", tag: "governance", summary: "Create an API key",
			desc: "The answer carries the full key (sk_<org>_<key_id>_<secret>) this once; it is stored only as a hash.",
			body: req(reflect.TypeFor[apiv1.APIKeyInput]()), status: 201,
			out: resp(reflect.TypeFor[apiv1.APIKey]()), errs: []int{400, 403, 413}},
		{method: "DELETE", path: "/api-keys/{id}", id: "revokeAPIKey", tag: "governance", summary: "Revoke an API key",
			desc:   "By key id (k2) or row id. Requests with the key are refused from then on.",
			params: []*openapi.Parameter{id("id", "The key id (k1, k2, …) or the key's row id.")},
			out:    resp(reflect.TypeFor[apiv1.APIKey]()), errs: []int{403, 404}},
		{method: "POST", path: "/deployment-requests/", id: "createDeploymentRequest", tag: "governance",
			summary: "Create a deployment request (draft)",
			body:    req(reflect.TypeFor[apiv1.DRInput]()), status: 201, out: dr, errs: []int{400, 403, 413}},
		{method: "GET", path: "/deployment-requests/", id: "listDeploymentRequests", tag: "governance", summary: "List deployment requests",
			params: with(&openapi.Parameter{Name: "status", In: "query", Description: "Only requests in this state.",
				Schema: resp(reflect.TypeFor[shiplog.DRStatus]())}),
			out: list(dr, true), errs: []int{400}},
		{method: "GET", path: "/deployment-requests/{id}", id: "getDeploymentRequest", tag: "governance", summary: "Get a deployment request",
			params: []*openapi.Parameter{drID}, out: dr, errs: []int{404}},
	}
	for _, a := range []struct {
		action shiplog.DRAction
		what   string
	}{
		{shiplog.DRActivate, "Submit a draft for approval (draft → in_progress)"},
		{shiplog.DRDeactivate, "Take a request back to draft (in_progress → draft)"},
		{shiplog.DRComplete, "Mark an approved request shipped (approved → completed)"},
		{shiplog.DRCancel, "Cancel a request that is not finished"},
	} {
		ops = append(ops, apiOp{method: "POST", path: "/deployment-requests/{id}/" + string(a.action),
			id: string(a.action) + "DeploymentRequest", tag: "governance", summary: a.what,
			params: []*openapi.Parameter{drID}, out: dr, errs: []int{403, 404, 409}})
	}
	for _, d := range []struct{ verb, what string }{{"approve", "Approve"}, {"reject", "Reject"}} {
		ops = append(ops, apiOp{method: "POST", path: "/deployment-requests/{id}/slots/{slot_id}/" + d.verb,
			id: d.verb + "Slot", tag: "governance", summary: d.what + " an approval slot",
			desc:   "Needs a role that may fill the slot's approval type (docs/governance.md). The body is optional.",
			params: []*openapi.Parameter{drID, id("slot_id", "The slot's id.")},
			body:   req(reflect.TypeFor[apiv1.DecisionInput]()), bodyOptional: true, out: dr,
			errs: []int{400, 403, 404, 409, 413}})
	}
	ops = append(ops, []apiOp{
		{method: "POST", path: "/versions/{product}/{version}/approvals", id: "approveVersion", tag: "governance",
			summary: "Sign off a version",
			params:  []*openapi.Parameter{product, version}, body: req(reflect.TypeFor[apiv1.VersionApprovalInput]()), status: 201,
			out: resp(reflect.TypeFor[shiplog.VersionApproval]()), errs: []int{400, 403, 404, 413}},
		{method: "GET", path: "/versions/{product}/{version}/approvals", id: "listVersionApprovals", tag: "governance",
			summary: "A version's sign-offs",
			params:  []*openapi.Parameter{product, version}, out: list(resp(reflect.TypeFor[shiplog.VersionApproval]()), false),
			errs: []int{404}},

		// Rules.
		{method: "POST", path: "/deployment-rules/", id: "createRule", tag: "rules", summary: "Create a deployment rule",
			desc: "name and rule_type are required; status defaults to enabled. The fields each type takes are in docs/rules.md.",
			body: req(reflect.TypeFor[rule.Rule]()), status: 201, out: ruleSchema, errs: []int{400, 403, 413}},
		{method: "GET", path: "/deployment-rules/", id: "listRules", tag: "rules", summary: "List deployment rules",
			out: list(ruleSchema, false)},
		{method: "GET", path: "/deployment-rules/{id}", id: "getRule", tag: "rules", summary: "Get a deployment rule",
			params: []*openapi.Parameter{id("id", "The rule's id.")}, out: ruleSchema, errs: []int{404}},
		{method: "PATCH", path: "/deployment-rules/{id}", id: "patchRule", tag: "rules", summary: "Change a deployment rule",
			desc:   "The fields given replace the stored ones; the usual way to switch a rule to report_only or disabled.",
			params: []*openapi.Parameter{id("id", "The rule's id.")}, body: req(reflect.TypeFor[rule.Rule]()), out: ruleSchema,
			errs: []int{400, 403, 404, 413}},
		{method: "DELETE", path: "/deployment-rules/{id}", id: "deleteRule", tag: "rules", summary: "Delete a deployment rule",
			params: []*openapi.Parameter{id("id", "The rule's id.")}, status: 204, errs: []int{403, 404}},
		{method: "POST", path: "/preflight/", id: "preflight", tag: "rules", summary: "Dry-run the rules for a deployment",
			desc: "The verdict a started deployment would get now, recording nothing: 200 when allowed, else the " +
				"409/423/428 body the event endpoint would answer.",
			body: req(reflect.TypeFor[apiv1.PreflightInput]()), out: resp(reflect.TypeFor[apiv1.PreflightResult]()),
			errs: []int{400, 413}, blocked: true},

		{method: "GET", path: "/org-settings/", id: "getOrgSettings", tag: "rules", summary: "The organisation's settings",
			desc: "Who may skip the preflight checks (skip_preflight_checks: anyone, people_only, nobody; default anyone) and " +
				"the stale-run horizon (stale_run_minutes, default 120; 0: never stale). updated_at and updated_by are null " +
				"while the defaults apply. See docs/rules.md.",
			out: resp(reflect.TypeFor[shiplog.OrgSettings]())},
		{method: "PATCH", path: "/org-settings/", id: "patchOrgSettings", tag: "rules", summary: "Change the organisation's settings",
			desc: "Owners and admins, with a personal token. Fields left out keep their value. A policy change and a " +
				"deployment that skips the checks never interleave: every skip that commits after this answer obeys the new policy.",
			body: req(reflect.TypeFor[apiv1.OrgSettingsPatch]()), out: resp(reflect.TypeFor[shiplog.OrgSettings]()),
			errs: []int{400, 403, 413}},

		// Reports.
		{method: "GET", path: "/metrics/dora", id: "doraMetrics", tag: "reports", summary: "DORA metrics report",
			desc: "Deployment frequency, lead time for changes, change failure rate and time to restore of the deployments " +
				"that finished in [from, to), for the org or one product and/or environment, with a per product × environment " +
				"breakdown and per-day series. Every field is defined in docs/dora.md.",
			params: []*openapi.Parameter{q("product_name", "Only this product (alias: product)."),
				q("environment_name", "Only this environment (alias: environment)."),
				q("environment_type", "Only environments of this type (production, staging, test, development, preview)."),
				{Name: "from", In: "query", Description: "Start of the window: RFC 3339, or YYYY-MM-DD (midnight UTC). Default: 30 days before to.",
					Schema: &openapi.Schema{Type: "string"}},
				{Name: "to", In: "query", Description: "End of the window (exclusive): RFC 3339, or YYYY-MM-DD (that whole day included). Default: now. At most 366 days after from.",
					Schema: &openapi.Schema{Type: "string"}}},
			out: resp(reflect.TypeFor[apiv1.DoraResponse]()), errs: []int{400, 404}},
	}...)
	return ops
}

func ptr[T any](v T) *T { return &v }
