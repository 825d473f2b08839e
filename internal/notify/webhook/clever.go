package webhook

// The Clever Cloud format: the "raw" format of Clever Cloud's notification
// webhooks (seed 004), which "is identical to events sent by the Websocket
// API". An event there is {"event": NAME, "date": ..., "data": "<JSON
// text>"}: data is a JSON document encoded as a string, which Clever's own
// clients parse a second time (clever-tools, @clevercloud/client's events
// stream). shiplog sends it the same way so those receivers work unchanged.
//
// Clever Cloud has no separate build events (a build is part of a
// deployment there) and no event for a queued deployment, so this format
// carries deployment.started, completed, failed and aborted only.

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
)

// Clever Cloud's deployment event names.
const (
	CleverDeploymentBegin   = "DEPLOYMENT_ACTION_BEGIN"
	CleverDeploymentEnd     = "DEPLOYMENT_ACTION_END"
	CleverDeploymentSuccess = "DEPLOYMENT_SUCCESS"
	CleverDeploymentFail    = "DEPLOYMENT_FAIL"
)

// cleverEvents pairs shiplog's types with Clever's event and deployment
// state (WIP, OK, FAIL, CANCELLED). A result is sent as the result event
// (what "Result of deployments" hooks subscribe to), and its state says the
// same, for receivers that read the state; a cancel has no result event of
// its own and is DEPLOYMENT_ACTION_END with state CANCELLED, as on Clever.
type cleverEvent struct {
	typ   shiplog.EventType
	name  string
	state string
}

var cleverEvents = []cleverEvent{
	{"deployment.started", CleverDeploymentBegin, "WIP"},
	{"deployment.completed", CleverDeploymentSuccess, "OK"},
	{"deployment.failed", CleverDeploymentFail, "FAIL"},
	{"deployment.aborted", CleverDeploymentEnd, "CANCELLED"},
}

var cleverNames = namesOf(cleverEvents, func(e cleverEvent) eventName { return eventName{e.typ, e.name} })

// CleverEventTypes are the shiplog event types a Clever-format channel
// carries.
var CleverEventTypes = cleverNames.types()

// CleverEventName returns Clever Cloud's event name for a shiplog type.
func CleverEventName(t shiplog.EventType) (string, bool) { return cleverNames.nameOf(t) }

// ParseCleverEvent reads one of Clever Cloud's event names (any case,
// surrounding space ignored) and returns the shiplog type sent under it.
func ParseCleverEvent(s string) (shiplog.EventType, bool) { return cleverNames.parse(s) }

// CleverEvent is the raw event.
type CleverEvent struct {
	Event string `json:"event"`
	Date  string `json:"date"`
	// Data is CleverDeploymentData encoded as JSON text.
	Data string `json:"data"`
}

// CleverDeploymentData is the event's data. The first fields are Clever's;
// the last four are shiplog's additions, which Clever's clients ignore.
type CleverDeploymentData struct {
	ID      string `json:"id"`      // the application ("app_<uuid>")
	AppID   string `json:"appId"`   // the same: some Clever clients match on either
	OwnerID string `json:"ownerId"` // the organization ("orga_<uuid>")
	UUID    string `json:"uuid"`    // the deployment: stable across its events
	State   string `json:"state"`   // WIP, OK, FAIL, CANCELLED
	Action  string `json:"action"`  // always DEPLOY
	Commit  string `json:"commit"`  // the deployed commit, "" when unknown
	Cause   string `json:"cause"`   // who started it, "" when unknown

	AppName     string `json:"appName"`     // the product's name
	Environment string `json:"environment"` // the environment's name
	Version     string `json:"version"`     // the version deployed
	URL         string `json:"url"`         // the deployment in the shiplog console, "" without a base URL
}

// cleverID is a name-based UUID with Clever's prefix, stable for one org
// and name.
func cleverID(prefix, orgID, what, name string) string {
	return prefix + uuid.NewSHA1(uuid.NameSpaceURL, []byte("shiplog:"+orgID+":"+what+":"+name)).String()
}

// NewCleverEvent builds the raw event for a deployment event; other events
// fail with notify.ErrUnsupportedEvent.
func NewCleverEvent(m notify.Message) (CleverEvent, error) {
	e := m.Event
	var name, state string
	for _, c := range cleverEvents {
		if c.typ == e.Type {
			name, state = c.name, c.state
		}
	}
	if name == "" {
		return CleverEvent{}, fmt.Errorf("%w: %q has no Clever Cloud event", notify.ErrUnsupportedEvent, e.Type)
	}
	if e.SubjectID == "" || e.OccurredAt.IsZero() {
		return CleverEvent{}, fmt.Errorf("webhook: deployment event %s lacks its id or time", e.ID)
	}
	app := cleverID("app_", e.OrgID, "application", e.ProductName)
	d := CleverDeploymentData{
		ID: app, AppID: app, OwnerID: cleverID("orga_", e.OrgID, "organization", ""),
		UUID: e.SubjectID, State: state, Action: "DEPLOY", Commit: e.ScmSHA, Cause: m.Who(),
		AppName: e.ProductName, Environment: e.EnvironmentName, Version: e.Version, URL: m.URL(),
	}
	data, err := marshal(d)
	if err != nil {
		return CleverEvent{}, err
	}
	return CleverEvent{Event: name, Date: e.OccurredAt.UTC().Format(millisUTC), Data: string(data)}, nil
}

// RenderClever returns the compact JSON body of a Clever-format delivery.
func RenderClever(m notify.Message) ([]byte, error) {
	ev, err := NewCleverEvent(m)
	if err != nil {
		return nil, err
	}
	return marshal(ev)
}

// DecodeCleverData parses a raw event's data the way Clever's clients do;
// receivers' tests use it.
func DecodeCleverData(ev CleverEvent) (CleverDeploymentData, error) {
	var d CleverDeploymentData
	err := json.Unmarshal([]byte(ev.Data), &d)
	return d, err
}
