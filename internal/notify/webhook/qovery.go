package webhook

// The Qovery format: the body Qovery's "STANDARD" organization webhooks POST
// (seed 003), so a receiver written for Qovery can be pointed at shiplog.
//
// Qovery's hierarchy is organization → project → environment → application;
// shiplog's is org → product, with environments at org level. A product is
// sent as both the project (so Qovery's project_names_filter, which shiplog
// reads as product_names_filter, selects the same events) and the one
// application the deployment carries. Qovery's ids are UUIDs that stay the
// same from one event to the next; shiplog sends name-based UUIDs (v5,
// derived from the org id and the product or environment name), which have
// that property without exposing internal ids.
//
// The nested objects carry the fields that identify them (id, name, the
// references between them, the environment's mode and the deployed commit),
// not Qovery's full API objects: shiplog does not run clusters, so there is
// no cloud_provider, cluster or healthcheck to report. databases,
// containers, jobs and logs are always empty lists.

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
)

// Qovery's event names (OrganizationWebhookEvent in qovery-openapi-spec).
const (
	QoveryDeploymentStarted    = "DEPLOYMENT_STARTED"
	QoveryDeploymentCancelled  = "DEPLOYMENT_CANCELLED"
	QoveryDeploymentFailure    = "DEPLOYMENT_FAILURE"
	QoveryDeploymentSuccessful = "DEPLOYMENT_SUCCESSFUL"
)

// qoveryEvents pairs Qovery's names with shiplog's, with the statuses
// (Qovery's State enum) the deployment is in when the event is sent: it is
// always meant to end DEPLOYED.
type qoveryEvent struct {
	name             string
	typ              shiplog.EventType
	current, desired string
}

var qoveryEvents = []qoveryEvent{
	{QoveryDeploymentStarted, "deployment.started", "DEPLOYING", "DEPLOYED"},
	{QoveryDeploymentSuccessful, "deployment.completed", "DEPLOYED", "DEPLOYED"},
	{QoveryDeploymentFailure, "deployment.failed", "DEPLOYMENT_ERROR", "DEPLOYED"},
	{QoveryDeploymentCancelled, "deployment.aborted", "CANCELED", "DEPLOYED"},
}

var qoveryNames = namesOf(qoveryEvents, func(e qoveryEvent) eventName { return eventName{e.typ, e.name} })

// QoveryEventTypes are the shiplog event types a Qovery-format channel
// carries, in Qovery's order.
var QoveryEventTypes = qoveryNames.types()

// QoveryEventNames are Qovery's four event names.
var QoveryEventNames = qoveryNames.names()

// QoveryEventName returns Qovery's name for a shiplog event type.
func QoveryEventName(t shiplog.EventType) (string, bool) { return qoveryNames.nameOf(t) }

// ParseQoveryEvent reads one of Qovery's event names (as its API and
// console spell them, any case, surrounding space ignored) and returns the
// shiplog event type it stands for.
func ParseQoveryEvent(s string) (shiplog.EventType, bool) { return qoveryNames.parse(s) }

// QoveryMode is Qovery's environment mode (EnvironmentMode: PRODUCTION,
// STAGING, DEVELOPMENT, PREVIEW) for a shiplog environment type. Qovery has
// no test mode: test environments are pre-production, so STAGING. An
// unknown type is DEVELOPMENT, as shiplog infers it.
func QoveryMode(t shiplog.EnvType) string {
	switch t {
	case shiplog.EnvProduction:
		return "PRODUCTION"
	case shiplog.EnvStaging, shiplog.EnvTest:
		return "STAGING"
	case shiplog.EnvPreview:
		return "PREVIEW"
	}
	return "DEVELOPMENT"
}

// millisUTC is the time form of Qovery's example ("2020-10-04T14:00:00.000Z"),
// which Clever Cloud's API uses too.
const millisUTC = "2006-01-02T15:04:05.000Z"

// QoveryPayload is the body; field order is the seed's.
type QoveryPayload struct {
	CreatedAt   string           `json:"created_at"`
	EventType   string           `json:"event_type"`
	PayloadType string           `json:"payload_type"` // always DEPLOYMENT
	PayloadID   string           `json:"payload_id"`
	Payload     QoveryDeployment `json:"payload"`
}

// QoveryDeployment is the nested payload.
type QoveryDeployment struct {
	ID            string          `json:"id"`
	CurrentStatus string          `json:"current_status"`
	DesiredStatus string          `json:"desired_status"`
	Organization  QoveryOrg       `json:"organization"`
	Project       QoveryProject   `json:"project"`
	Environment   QoveryEnv       `json:"environment"`
	Applications  []QoveryService `json:"applications"`
	Databases     []QoveryService `json:"databases"`
	Containers    []QoveryService `json:"containers"`
	Jobs          []QoveryService `json:"jobs"`
	Logs          []string        `json:"logs"`
}

// QoveryRef is Qovery's ReferenceObject.
type QoveryRef struct {
	ID string `json:"id"`
}

// QoveryOrg identifies the organization.
type QoveryOrg struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// QoveryProject identifies the project (shiplog's product).
type QoveryProject struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Organization QoveryRef `json:"organization"`
}

// QoveryEnv identifies the environment.
type QoveryEnv struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Mode    string    `json:"mode"`
	Project QoveryRef `json:"project"`
}

// QoveryService is one entry of applications (the product as deployed).
type QoveryService struct {
	CurrentStatus string     `json:"current_status"`
	DesiredStatus string     `json:"desired_status"`
	Application   *QoveryApp `json:"application,omitempty"`
}

// QoveryApp identifies the application and what was deployed.
type QoveryApp struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Environment   QoveryRef  `json:"environment"`
	GitRepository *QoveryGit `json:"git_repository,omitempty"`
}

// QoveryGit is the deployed commit: deployed_commit_tag carries shiplog's
// version, the release's name for what was deployed.
type QoveryGit struct {
	Owner             string `json:"owner,omitempty"`
	Name              string `json:"name,omitempty"`
	DeployedCommitID  string `json:"deployed_commit_id,omitempty"`
	DeployedCommitTag string `json:"deployed_commit_tag,omitempty"`
}

// qoveryID is a name-based UUID, stable for one org and name.
func qoveryID(orgID, what, name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("shiplog:"+orgID+":"+what+":"+name)).String()
}

// NewQoveryPayload builds the Qovery body for a deployment event. Other
// events (pending, preflight_failed, builds, governance) have no Qovery
// counterpart and fail with notify.ErrUnsupportedEvent.
func NewQoveryPayload(m notify.Message) (QoveryPayload, error) {
	e := m.Event
	var current, desired, name string
	for _, q := range qoveryEvents {
		if q.typ == e.Type {
			current, desired, name = q.current, q.desired, q.name
		}
	}
	if name == "" {
		return QoveryPayload{}, fmt.Errorf("%w: %q has no Qovery event", notify.ErrUnsupportedEvent, e.Type)
	}
	if e.SubjectID == "" || e.OccurredAt.IsZero() || e.EnvironmentName == "" {
		return QoveryPayload{}, fmt.Errorf("webhook: deployment event %s lacks its id, time or environment", e.ID)
	}
	orgName := m.OrgName
	if orgName == "" {
		orgName = e.OrgID
	}
	product := e.ProductName
	envType := e.EnvironmentType
	if envType == "" {
		envType = shiplog.InferEnvType(e.EnvironmentName)
	}
	org := QoveryOrg{ID: qoveryID(e.OrgID, "organization", ""), Name: orgName}
	project := QoveryProject{ID: qoveryID(e.OrgID, "project", product), Name: product, Organization: QoveryRef{org.ID}}
	env := QoveryEnv{ID: qoveryID(e.OrgID, "environment", e.EnvironmentName), Name: e.EnvironmentName,
		Mode: QoveryMode(envType), Project: QoveryRef{project.ID}}
	app := &QoveryApp{ID: qoveryID(e.OrgID, "application", product), Name: product, Environment: QoveryRef{env.ID}}
	if e.ScmRepository != "" || e.ScmSHA != "" || e.Version != "" {
		g := &QoveryGit{DeployedCommitID: e.ScmSHA, DeployedCommitTag: e.Version, Name: e.ScmRepository}
		if owner, repo, ok := strings.Cut(e.ScmRepository, "/"); ok {
			g.Owner, g.Name = owner, repo
		}
		app.GitRepository = g
	}
	return QoveryPayload{
		CreatedAt:   e.OccurredAt.UTC().Format(millisUTC),
		EventType:   name,
		PayloadType: "DEPLOYMENT",
		PayloadID:   e.SubjectID,
		Payload: QoveryDeployment{
			ID:            e.SubjectID,
			CurrentStatus: current,
			DesiredStatus: desired,
			Organization:  org,
			Project:       project,
			Environment:   env,
			Applications:  []QoveryService{{CurrentStatus: current, DesiredStatus: desired, Application: app}},
			Databases:     []QoveryService{},
			Containers:    []QoveryService{},
			Jobs:          []QoveryService{},
			Logs:          []string{},
		},
	}, nil
}

// RenderQovery returns the compact JSON body of a Qovery-format delivery.
func RenderQovery(m notify.Message) ([]byte, error) {
	p, err := NewQoveryPayload(m)
	if err != nil {
		return nil, err
	}
	return marshal(p)
}
