package web

import (
	"net/http"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/people"
)

// "Connect a pipeline": this server's address, an org API key made on the
// spot and shown once, and a snippet for each way a pipeline reports
// (curl, the CLI, the GitHub Action, GitLab CI, Jenkins) with both filled
// in. And the first steps (first event, second environment, a channel, a
// teammate) that Home lists until they are done.

type connectData struct {
	URL string
	// Key is the key just made: shown once, and put into the shell snippets.
	Key *apiv1.APIKey
	// Name is the key name typed, kept after a refusal.
	Name     string
	Snippets []snippet
	Steps    *firstSteps
}

// snippet is one copyable block.
type snippet struct {
	ID, Title, Hint, Text string
}

func (s *Server) connectRoutes(page func(pattern string, h pageFunc)) {
	page("GET /ui/connect", s.connectPage)
	page("POST /ui/connect/key", s.connectKey)
	page("GET /ui/fragments/first-steps", s.firstStepsFragment)
}

// publicURL is the address pipelines reach this server at: the configured
// public URL, else what the browser used.
func (s *Server) publicURL(r *http.Request) string {
	if s.BaseURL != "" {
		return strings.TrimRight(s.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) connectData(r *http.Request, v *view, key *apiv1.APIKey) (*connectData, error) {
	steps, err := s.firstSteps(r, v)
	if err != nil {
		return nil, err
	}
	d := &connectData{URL: s.publicURL(r), Key: key, Steps: steps}
	secret := ""
	if key != nil {
		secret = key.Key
	}
	d.Snippets = snippets(d.URL, secret)
	return d, nil
}

func (s *Server) connectPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "home"
	d, err := s.connectData(r, v, nil)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "connect", v, d)
}

// connectKey makes an org API key and answers with the page, the key in
// its snippets. Not a redirect: the key must not travel in a cookie or a URL.
func (s *Server) connectKey(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "home"
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		name = "pipeline"
	}
	var created apiv1.APIKey
	callErr := s.call(r, v, http.MethodPost, "/api-keys/", apiv1.APIKeyInput{Name: name}, &created)
	ae, refused := apiRefusal(callErr)
	if callErr != nil && !refused {
		return callErr
	}
	var key *apiv1.APIKey
	if !refused {
		key = &created
	}
	d, err := s.connectData(r, v, key)
	if err != nil {
		return err
	}
	if refused {
		v.Error, d.Name = ae.Detail, name
		return s.render(w, r, ae.Status, "connect", v, d)
	}
	return s.render(w, r, http.StatusOK, "connect", v, d)
}

// snippets fills in url and key (empty: the shell snippets read
// $SHIPLOG_API_KEY; CI snippets always take it from the CI's secrets).
func snippets(url, key string) []snippet {
	shellKey := "$SHIPLOG_API_KEY"
	export := "export SHIPLOG_URL=" + url + "\n"
	if key != "" {
		shellKey = key
		export += "export SHIPLOG_API_KEY=" + key + "\n"
	} else {
		export += "export SHIPLOG_API_KEY=sk_…   # an API key: make one above\n"
	}
	const install = "# once: go install github.com/shiplog/shiplog/cmd/shiplog@latest\n"
	return []snippet{
		{ID: "curl", Title: "curl", Hint: "Any pipeline that can make an HTTP request: one deployment, recorded as it ends.",
			Text: "curl -X POST " + url + "/deployment-events/ \\\n" +
				"  -H \"Authorization: Bearer " + shellKey + "\" \\\n" +
				"  -H 'Content-Type: application/json' \\\n" +
				"  -d '{\"product_name\":\"my-service\",\"version\":\"1.0.0\",\"environment_name\":\"production\",\"status\":\"success\"}'"},
		{ID: "track", Title: "shiplog track", Hint: "The shiplog binary is also the CI client: it detects the CI system, retries, and never records an event twice.",
			Text: install + export +
				"shiplog track build --product my-service --version 1.0.0\n" +
				"shiplog track deployment --product my-service --version 1.0.0 --environment production"},
		{ID: "run", Title: "shiplog run", Hint: "Wraps the deploy command: records started (the deployment rules may refuse it before anything runs), then completed, failed or aborted.",
			Text: install + export +
				"shiplog run --product my-service --version 1.0.0 --environment production -- ./deploy.sh production"},
		{ID: "github", Title: "GitHub Actions", Hint: "Store the key as the repository secret SHIPLOG_API_KEY (Settings → Secrets and variables → Actions).",
			Text: "- name: Deploy\n" +
				"  id: deploy\n" +
				"  run: ./deploy.sh production\n\n" +
				"- name: Record the deployment in shiplog\n" +
				"  if: always()\n" +
				"  uses: shiplog/shiplog@v1\n" +
				"  with:\n" +
				"    api_url: " + url + "\n" +
				"    api_key: ${{ secrets.SHIPLOG_API_KEY }}\n" +
				"    environment: production\n" +
				"    status: ${{ steps.deploy.outcome }}"},
		{ID: "gitlab", Title: "GitLab CI", Hint: "Store the key as the masked CI/CD variable SHIPLOG_API_KEY (Settings → CI/CD → Variables).",
			Text: "deploy:\n" +
				"  stage: deploy\n" +
				"  image: golang:1.26\n" +
				"  variables:\n" +
				"    SHIPLOG_URL: " + url + "\n" +
				"  before_script:\n" +
				"    - go install github.com/shiplog/shiplog/cmd/shiplog@latest\n" +
				"  script:\n" +
				"    - shiplog run --environment production -- ./deploy.sh production"},
		{ID: "jenkins", Title: "Jenkins", Hint: "Store the key as a \"secret text\" credential named shiplog-api-key (Manage Jenkins → Credentials).",
			Text: "pipeline {\n" +
				"  agent any\n" +
				"  environment {\n" +
				"    SHIPLOG_URL     = '" + url + "'\n" +
				"    SHIPLOG_API_KEY = credentials('shiplog-api-key')\n" +
				"  }\n" +
				"  stages {\n" +
				"    stage('Deploy') {\n" +
				"      steps { sh 'shiplog run --environment production --version \"$BUILD_NUMBER\" -- ./deploy.sh production' }\n" +
				"    }\n" +
				"  }\n" +
				"}"},
	}
}

// firstSteps is the checklist of a new org.
type firstSteps struct {
	Items []firstStep
	Done  int
	// NoEvents: nothing reported yet (Home then shows how to connect).
	NoEvents bool
}

type firstStep struct {
	ID, Title, Hint, Href, Action string
	Done                          bool
}

// Complete reports whether every step is done (Home then drops the list).
func (f *firstSteps) Complete() bool { return f.Done == len(f.Items) }

func (s *Server) firstSteps(r *http.Request, v *view) (*firstSteps, error) {
	var deps, builds, envs apiv1.List[struct {
		ID string `json:"id"`
	}]
	for path, out := range map[string]*apiv1.List[struct {
		ID string `json:"id"`
	}]{"/deployments/?limit=1": &deps, "/builds/?limit=1": &builds, "/environments/?limit=2": &envs} {
		if err := s.call(r, v, http.MethodGet, path, nil, out); err != nil {
			return nil, err
		}
	}
	var channels apiv1.List[apiv1.Channel]
	if err := s.call(r, v, http.MethodGet, "/notification-channels/", nil, &channels); err != nil {
		return nil, err
	}
	channel := false
	dflt := notify.DefaultChannel("", s.Clock.Now())
	for _, c := range channels.Items {
		// The default email channel comes with the org: not a step taken.
		if c.Enabled && (c.Kind != dflt.Kind || c.Name != dflt.Name) {
			channel = true
		}
	}
	// Only those who may list people can tell; anyone else signed in was
	// added by someone, so the team is more than one.
	teammate := true
	if v.May(http.MethodGet, "/users/") {
		var users apiv1.List[*shiplog.User]
		if err := s.call(r, v, http.MethodGet, "/users/", nil, &users); err != nil {
			return nil, err
		}
		n := 0
		for _, u := range users.Items {
			if u.Active() && !people.Placeholder(u.Email) {
				n++
			}
		}
		teammate = n >= 2
	}
	f := &firstSteps{NoEvents: len(deps.Items)+len(builds.Items) == 0}
	f.Items = []firstStep{
		{ID: "event", Title: "Report a first event", Hint: "A deployment or build from a pipeline.", Href: "/ui/connect", Action: "Connect a pipeline",
			Done: !f.NoEvents},
		{ID: "environment", Title: "Report a second environment", Hint: "Staging and production, say: Home then shows where each version runs.",
			Href: "/ui/connect", Action: "Snippets", Done: len(envs.Items) >= 2},
		{ID: "channel", Title: "Add a notification channel", Hint: "Slack, email or a webhook, told of deployments as they happen.",
			Href: "/ui/settings/notifications", Action: "Notification settings", Done: channel},
		{ID: "teammate", Title: "Invite a teammate", Hint: "Someone to approve deployments with you.", Href: "/ui/settings/users", Action: "Users",
			Done: teammate},
	}
	for _, it := range f.Items {
		if it.Done {
			f.Done++
		}
	}
	return f, nil
}

// firstStepsFragment is the checklist alone, refetched when events arrive.
func (s *Server) firstStepsFragment(w http.ResponseWriter, r *http.Request, v *view) error {
	f, err := s.firstSteps(r, v)
	if err != nil {
		return err
	}
	return s.fragment(w, "connect", "first-steps", v, f)
}

// homeStart is what Home shows a new org: the checklist until it is done,
// and how to connect until the first event.
func (s *Server) homeStart(r *http.Request, v *view) (*firstSteps, *connectData, error) {
	steps, err := s.firstSteps(r, v)
	if err != nil || steps.Complete() {
		return nil, nil, err
	}
	var c *connectData
	if steps.NoEvents {
		u := s.publicURL(r)
		c = &connectData{URL: u, Snippets: snippets(u, "")}
	}
	return steps, c, nil
}
