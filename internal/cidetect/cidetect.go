// Package cidetect reads what a CI system says about the running build from
// its environment variables: which system, the repository, commit, branch,
// run number and URL, who started it, and system-specific metadata under
// vi_* keys. It gives exactly what the Versioner CLI's detection gives for the
// same environment (its internal/cicd, read at commit 9ee3346), so that
// switching a pipeline between the two clients does not change what is
// stored: values are taken as set (not trimmed), markers compared exactly,
// and the repository, branch, user and run link are the ones it sends, even
// where another would be more useful (docs/ci-client.md lists them). Pure:
// the environment comes in as a function.
package cidetect

import (
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
	{"azure-devops", is("TF_BUILD", "True"), azure, [][2]string{
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
	for _, s := range systems {
		if !s.active(getenv) {
			continue
		}
		in := s.read(getenv)
		in.System = s.name
		for _, m := range s.meta {
			if v := getenv(m[1]); v != "" {
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

// is compares exactly: the Versioner CLI detects Azure only for TF_BUILD=True.
func is(name, value string) func(Getenv) bool {
	return func(env Getenv) bool { return env(name) == value }
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

// shortSHA is the version fallback: the first 8 characters of a commit (a
// shorter value whole, where the Versioner CLI would crash).
func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// lastPart is the last "/"-separated part of s ("" for "").
func lastPart(s string) string {
	return s[strings.LastIndex(s, "/")+1:]
}

// secondOfTwo is the name of an "owner/name" repository, and "" for any
// other shape (GitHub and Travis).
func secondOfTwo(s string) string {
	parts := strings.Split(s, "/")
	if len(parts) == 2 {
		return parts[1]
	}
	return ""
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
	repo, runID, sha := env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID"), env("GITHUB_SHA")
	return Info{
		Repository:  repo,
		SHA:         sha,
		Branch:      env("GITHUB_REF_NAME"), // on a pull request "123/merge", as the Versioner CLI sends it
		BuildNumber: env("GITHUB_RUN_NUMBER"),
		InvokeID:    runID,
		BuildURL:    join(env("GITHUB_SERVER_URL"), "/", repo, "/actions/runs/", runID),
		User:        env("GITHUB_ACTOR"),
		Product:     secondOfTwo(repo),
		Version:     shortSHA(sha),
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
		Product:     lastPart(repo),
		Version:     shortSHA(env("CI_COMMIT_SHA")),
	}
}

func jenkins(env Getenv) Info {
	repo := NormalizeGitURL(env("GIT_URL"))
	return Info{
		Repository:  repo,                // github.com/acme/api: the host stays
		SHA:         env("GIT_COMMIT"),   //
		Branch:      env("GIT_BRANCH"),   // origin/main: the remote stays
		BuildNumber: env("BUILD_NUMBER"), //
		InvokeID:    env("BUILD_ID"),
		BuildURL:    env("BUILD_URL"),
		User:        env("BUILD_USER"), // the Build User Vars plugin's display name
		UserEmail:   env("BUILD_USER_EMAIL"),
		Product:     strings.TrimSuffix(lastPart(repo), ".git"),
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
		Product:     env("BITBUCKET_REPO_SLUG"),
		Version:     shortSHA(env("BITBUCKET_COMMIT")),
	}
}

func azure(env Getenv) Info {
	repo := env("BUILD_REPOSITORY_NAME")
	return Info{
		Repository:  repo,
		SHA:         env("BUILD_SOURCEVERSION"),
		Branch:      env("BUILD_SOURCEBRANCHNAME"), // the last segment: feature/x gives x
		BuildNumber: env("BUILD_BUILDNUMBER"),
		InvokeID:    env("BUILD_BUILDID"),
		BuildURL:    env("BUILD_BUILDURI"), // a vstfs:// link, as the Versioner CLI sends it
		User:        env("BUILD_REQUESTEDFOR"),
		UserEmail:   env("BUILD_REQUESTEDFOREMAIL"),
		Product:     lastPart(repo),
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
		Product:     secondOfTwo(repo),
		Version:     shortSHA(env("TRAVIS_COMMIT")),
	}
}

func rundeck(env Getenv) Info {
	exec := env("RD_JOB_EXECID")
	return Info{
		BuildNumber: exec,
		InvokeID:    exec,
		BuildURL:    join(env("RD_JOB_SERVERURL"), "/project/", env("RD_JOB_PROJECT"), "/execution/show/", exec),
		User:        first(env, "RD_JOB_USERNAME", "RD_JOB_USER_NAME"),
		Product:     env("RD_JOB_NAME"),
		Version:     exec,
	}
}

// NormalizeGitURL is the Versioner CLI's reading of Jenkins' GIT_URL: the
// scheme (https://, http://), a leading git@ and a trailing .git are
// dropped and the first ":" becomes "/", so https://github.com/acme/api.git
// and git@github.com:acme/api.git both give github.com/acme/api.
//
// One difference: credentials in an http(s) URL (https://user:token@host/…)
// are dropped, where the Versioner CLI would store them.
func NormalizeGitURL(s string) string {
	if rest, ok := cutScheme(s); ok {
		host, path, found := strings.Cut(rest, "/")
		if i := strings.LastIndex(host, "@"); i >= 0 {
			host = host[i+1:]
		}
		s = host
		if found {
			s += "/" + path
		}
	}
	s = strings.TrimPrefix(s, "git@")
	s = strings.TrimSuffix(s, ".git")
	return strings.Replace(s, ":", "/", 1)
}

// cutScheme removes a leading https:// or http://.
func cutScheme(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		return rest, true
	}
	return strings.CutPrefix(s, "http://")
}
