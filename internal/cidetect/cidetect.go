// Package cidetect reads what a CI system says about the running build from
// its environment variables: which system, the repository, commit, branch,
// run number and URL, who started it, and system-specific metadata under
// vi_* keys. It follows the Versioner CLI's table (versioner.md §9.7). Pure:
// the environment comes in as a function.
package cidetect

import (
	"net/url"
	"strings"
)

// Info is what a CI environment tells. Empty fields are unknown.
type Info struct {
	System      string // source_system: github, gitlab, jenkins, circleci, bitbucket, azure-devops, travis, rundeck; "" outside CI
	Repository  string // owner/repo (or the path of the project)
	SHA         string
	Branch      string
	BuildNumber string
	InvokeID    string // the run's id, shared by its events
	BuildURL    string // the run's page
	User        string
	UserEmail   string
	UserName    string
	// Product and Version are fallbacks for when none is given: the
	// repository's name, and the short SHA (or the build number where the
	// system has no SHA).
	Product string
	Version string
	// Metadata holds the vi_* keys; values are the variables as set.
	Metadata map[string]string
}

// Getenv is os.Getenv or a test's map.
type Getenv func(string) string

// A system is one CI: whether it is the one running, and what it says.
type system struct {
	name   string
	active func(Getenv) bool
	read   func(Getenv) Info
	// meta maps vi_* keys to the variables they copy.
	meta [][2]string
}

// systems are checked in this order; the first active one wins.
var systems = []system{
	{"github", is("GITHUB_ACTIONS", "true"), github, [][2]string{
		{"vi_gh_workflow", "GITHUB_WORKFLOW"}, {"vi_gh_job", "GITHUB_JOB"}, {"vi_gh_run_attempt", "GITHUB_RUN_ATTEMPT"},
		{"vi_gh_event_name", "GITHUB_EVENT_NAME"}, {"vi_gh_ref", "GITHUB_REF"}, {"vi_gh_head_ref", "GITHUB_HEAD_REF"},
		{"vi_gh_base_ref", "GITHUB_BASE_REF"}}},
	{"gitlab", is("GITLAB_CI", "true"), gitlab, [][2]string{
		{"vi_gl_pipeline_id", "CI_PIPELINE_ID"}, {"vi_gl_pipeline_url", "CI_PIPELINE_URL"}, {"vi_gl_job_id", "CI_JOB_ID"},
		{"vi_gl_job_name", "CI_JOB_NAME"}, {"vi_gl_job_url", "CI_JOB_URL"}, {"vi_gl_pipeline_source", "CI_PIPELINE_SOURCE"}}},
	{"jenkins", set("JENKINS_URL"), jenkins, [][2]string{
		{"vi_jenkins_job_name", "JOB_NAME"}, {"vi_jenkins_build_url", "BUILD_URL"}, {"vi_jenkins_node_name", "NODE_NAME"},
		{"vi_jenkins_executor_number", "EXECUTOR_NUMBER"}}},
	{"circleci", is("CIRCLECI", "true"), circleci, [][2]string{
		{"vi_circle_workflow_id", "CIRCLE_WORKFLOW_ID"}, {"vi_circle_workflow_job_id", "CIRCLE_WORKFLOW_JOB_ID"},
		{"vi_circle_job_name", "CIRCLE_JOB"}, {"vi_circle_node_index", "CIRCLE_NODE_INDEX"}}},
	{"bitbucket", set("BITBUCKET_BUILD_NUMBER"), bitbucket, [][2]string{
		{"vi_bb_pipeline_uuid", "BITBUCKET_PIPELINE_UUID"}, {"vi_bb_step_uuid", "BITBUCKET_STEP_UUID"},
		{"vi_bb_workspace", "BITBUCKET_WORKSPACE"}, {"vi_bb_repo_slug", "BITBUCKET_REPO_SLUG"}}},
	{"azure-devops", is("TF_BUILD", "true"), azure, [][2]string{
		{"vi_azure_build_id", "BUILD_BUILDID"}, {"vi_azure_definition_name", "BUILD_DEFINITIONNAME"},
		{"vi_azure_agent_name", "AGENT_NAME"}, {"vi_azure_team_project", "SYSTEM_TEAMPROJECT"}}},
	{"travis", is("TRAVIS", "true"), travis, [][2]string{
		{"vi_travis_build_id", "TRAVIS_BUILD_ID"}, {"vi_travis_job_id", "TRAVIS_JOB_ID"},
		{"vi_travis_job_number", "TRAVIS_JOB_NUMBER"}, {"vi_travis_event_type", "TRAVIS_EVENT_TYPE"}}},
	{"rundeck", set("RD_JOB_ID"), rundeck, [][2]string{
		{"vi_rd_job_id", "RD_JOB_ID"}, {"vi_rd_job_execid", "RD_JOB_EXECID"}, {"vi_rd_job_serverurl", "RD_JOB_SERVERURL"},
		{"vi_rd_job_project", "RD_JOB_PROJECT"}, {"vi_rd_job_name", "RD_JOB_NAME"}, {"vi_rd_job_group", "RD_JOB_GROUP"},
		{"vi_rd_job_url", "RD_JOB_URL"}}},
}

// Systems lists the systems Detect knows, in the order it checks them.
func Systems() []string {
	out := make([]string, len(systems))
	for i, s := range systems {
		out[i] = s.name
	}
	return out
}

// Detect reads the environment of the first CI system that is active. Outside
// CI it returns the zero Info.
func Detect(getenv Getenv) Info {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	for _, s := range systems {
		if !s.active(env) {
			continue
		}
		in := s.read(env)
		in.System = s.name
		for _, m := range s.meta {
			if v := env(m[1]); v != "" {
				if in.Metadata == nil {
					in.Metadata = map[string]string{}
				}
				in.Metadata[m[0]] = v
			}
		}
		return in
	}
	return Info{}
}

func is(name, value string) func(Getenv) bool {
	return func(env Getenv) bool { return strings.EqualFold(env(name), value) }
}

func set(name string) func(Getenv) bool {
	return func(env Getenv) bool { return env(name) != "" }
}

// first returns the first non-empty variable of names.
func first(env Getenv, names ...string) string {
	for _, n := range names {
		if v := env(n); v != "" {
			return v
		}
	}
	return ""
}

// shortSHA is the version fallback: the first 8 characters of a commit.
func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// lastSegment is the repository's name: "acme/api" → "api".
func lastSegment(repo string) string {
	repo = strings.TrimRight(repo, "/")
	return strings.TrimSuffix(repo[strings.LastIndex(repo, "/")+1:], ".git")
}

// join builds a URL from parts, or "" when any part is missing.
func join(parts ...string) string {
	for _, p := range parts {
		if p == "" {
			return ""
		}
	}
	return strings.Join(parts, "")
}

func github(env Getenv) Info {
	repo, runID := env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID")
	server := strings.TrimRight(first(env, "GITHUB_SERVER_URL"), "/")
	if server == "" {
		server = "https://github.com"
	}
	return Info{
		Repository: repo,
		SHA:        env("GITHUB_SHA"),
		// On pull requests GITHUB_REF_NAME is "123/merge"; the head branch is the useful one.
		Branch:      first(env, "GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
		BuildNumber: env("GITHUB_RUN_NUMBER"),
		InvokeID:    runID,
		BuildURL:    join(server, "/", repo, "/actions/runs/", runID),
		User:        env("GITHUB_ACTOR"),
		Product:     lastSegment(repo),
		Version:     shortSHA(env("GITHUB_SHA")),
	}
}

func gitlab(env Getenv) Info {
	repo := env("CI_PROJECT_PATH")
	return Info{
		Repository:  repo,
		SHA:         env("CI_COMMIT_SHA"),
		Branch:      env("CI_COMMIT_REF_NAME"),
		BuildNumber: env("CI_PIPELINE_IID"),
		InvokeID:    env("CI_PIPELINE_ID"),
		BuildURL:    env("CI_PIPELINE_URL"),
		User:        env("GITLAB_USER_LOGIN"),
		UserEmail:   env("GITLAB_USER_EMAIL"),
		UserName:    env("GITLAB_USER_NAME"),
		Product:     lastSegment(repo),
		Version:     shortSHA(env("CI_COMMIT_SHA")),
	}
}

func jenkins(env Getenv) Info {
	repo := RepoFromGitURL(env("GIT_URL"))
	branch := env("GIT_BRANCH")
	branch = strings.TrimPrefix(strings.TrimPrefix(branch, "refs/heads/"), "origin/")
	return Info{
		Repository:  repo,
		SHA:         env("GIT_COMMIT"),
		Branch:      branch,
		BuildNumber: env("BUILD_NUMBER"),
		InvokeID:    env("BUILD_ID"),
		BuildURL:    env("BUILD_URL"),
		User:        first(env, "BUILD_USER_ID", "BUILD_USER"), // the Build User Vars plugin
		UserEmail:   env("BUILD_USER_EMAIL"),
		UserName:    env("BUILD_USER"),
		Product:     lastSegment(repo),
		Version:     env("BUILD_NUMBER"),
	}
}

func circleci(env Getenv) Info {
	owner, name := env("CIRCLE_PROJECT_USERNAME"), env("CIRCLE_PROJECT_REPONAME")
	return Info{
		Repository:  join(owner, "/", name),
		SHA:         env("CIRCLE_SHA1"),
		Branch:      first(env, "CIRCLE_BRANCH", "CIRCLE_TAG"),
		BuildNumber: env("CIRCLE_BUILD_NUM"),
		InvokeID:    env("CIRCLE_WORKFLOW_ID"),
		BuildURL:    env("CIRCLE_BUILD_URL"),
		User:        env("CIRCLE_USERNAME"),
		Product:     name,
		Version:     shortSHA(env("CIRCLE_SHA1")),
	}
}

func bitbucket(env Getenv) Info {
	repo, number := env("BITBUCKET_REPO_FULL_NAME"), env("BITBUCKET_BUILD_NUMBER")
	return Info{
		Repository:  repo,
		SHA:         env("BITBUCKET_COMMIT"),
		Branch:      first(env, "BITBUCKET_BRANCH", "BITBUCKET_TAG"),
		BuildNumber: number,
		InvokeID:    env("BITBUCKET_PIPELINE_UUID"),
		BuildURL:    join("https://bitbucket.org/", repo, "/pipelines/results/", number),
		Product:     first(env, "BITBUCKET_REPO_SLUG"),
		Version:     shortSHA(env("BITBUCKET_COMMIT")),
	}
}

func azure(env Getenv) Info {
	repo, id := env("BUILD_REPOSITORY_NAME"), env("BUILD_BUILDID")
	// BUILD_BUILDURI is a vstfs:// link only Visual Studio opens; the
	// results page is built from the collection and project when known.
	buildURL := join(strings.TrimRight(env("SYSTEM_COLLECTIONURI"), "/"), "/", url.PathEscape(env("SYSTEM_TEAMPROJECT")),
		"/_build/results?buildId=", id)
	if buildURL == "" {
		buildURL = env("BUILD_BUILDURI")
	}
	// BUILD_SOURCEBRANCHNAME is only the last segment (feature/x → x).
	branch, ok := strings.CutPrefix(env("BUILD_SOURCEBRANCH"), "refs/heads/")
	if !ok {
		branch = env("BUILD_SOURCEBRANCHNAME")
	}
	return Info{
		Repository:  repo,
		SHA:         env("BUILD_SOURCEVERSION"),
		Branch:      branch,
		BuildNumber: env("BUILD_BUILDNUMBER"),
		InvokeID:    id,
		BuildURL:    buildURL,
		User:        env("BUILD_REQUESTEDFOR"),
		UserEmail:   env("BUILD_REQUESTEDFOREMAIL"),
		UserName:    env("BUILD_REQUESTEDFOR"),
		Product:     lastSegment(repo),
		Version:     env("BUILD_BUILDNUMBER"),
	}
}

func travis(env Getenv) Info {
	repo := env("TRAVIS_REPO_SLUG")
	return Info{
		Repository:  repo,
		SHA:         env("TRAVIS_COMMIT"),
		Branch:      first(env, "TRAVIS_BRANCH", "TRAVIS_TAG"),
		BuildNumber: env("TRAVIS_BUILD_NUMBER"),
		InvokeID:    env("TRAVIS_BUILD_ID"),
		BuildURL:    env("TRAVIS_BUILD_WEB_URL"),
		Product:     lastSegment(repo),
		Version:     shortSHA(env("TRAVIS_COMMIT")),
	}
}

func rundeck(env Getenv) Info {
	exec := env("RD_JOB_EXECID")
	return Info{
		BuildNumber: exec,
		InvokeID:    exec,
		BuildURL: join(strings.TrimRight(env("RD_JOB_SERVERURL"), "/"), "/project/", url.PathEscape(env("RD_JOB_PROJECT")),
			"/execution/show/", exec),
		User:    first(env, "RD_JOB_USERNAME", "RD_JOB_USER_NAME"),
		Product: env("RD_JOB_NAME"),
		Version: exec,
	}
}

// RepoFromGitURL turns a clone URL into owner/repo (the whole path for
// nested groups): https://github.com/acme/api.git, git@github.com:acme/api.git
// and ssh://git@host:7999/acme/api.git all give acme/api. Credentials and
// hosts are dropped; what cannot be read as a URL comes back trimmed.
func RepoFromGitURL(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	path := s
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		if u, err := url.Parse(s); err == nil {
			path = u.Path
		} else {
			path = s[i+3:]
			if j := strings.Index(path, "/"); j >= 0 {
				path = path[j:]
			} else {
				path = ""
			}
		}
	} else if i := strings.Index(s, ":"); i >= 0 && !strings.Contains(s[:i], "/") {
		path = s[i+1:] // scp-like: [user@]host:path
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	return strings.Trim(path, "/")
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" or ".").
func isScheme(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return s != ""
}
