package cidetect_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/cidetect"
)

func envOf(m map[string]string) cidetect.Getenv { return func(k string) string { return m[k] } }

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestDetect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want cidetect.Info
	}{
		{"none", map[string]string{"HOME": "/root", "CI": "true"}, cidetect.Info{}},
		{"github", map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/api", "GITHUB_SHA": sha, "GITHUB_REF_NAME": "main",
			"GITHUB_RUN_NUMBER": "42", "GITHUB_RUN_ID": "9876543210", "GITHUB_SERVER_URL": "https://github.example.com/",
			"GITHUB_ACTOR": "octocat", "GITHUB_WORKFLOW": "Deploy", "GITHUB_JOB": "prod", "GITHUB_RUN_ATTEMPT": "2",
			"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main",
		}, cidetect.Info{System: "github", Repository: "acme/api", SHA: sha, Branch: "main", BuildNumber: "42",
			InvokeID: "9876543210", BuildURL: "https://github.example.com//acme/api/actions/runs/9876543210", User: "octocat",
			Product: "api", Version: "01234567", Metadata: map[string]string{"vi_gh_workflow": "Deploy", "vi_gh_job": "prod",
				"vi_gh_run_attempt": "2", "vi_gh_event_name": "push", "vi_gh_ref": "refs/heads/main"}}},
		{"github pull request, no server URL", map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/api", "GITHUB_REF_NAME": "7/merge", "GITHUB_HEAD_REF": "feature/x",
			"GITHUB_BASE_REF": "main", "GITHUB_RUN_ID": "1",
		}, cidetect.Info{System: "github", Repository: "acme/api", Branch: "7/merge", InvokeID: "1", Product: "api",
			Metadata: map[string]string{"vi_gh_head_ref": "feature/x", "vi_gh_base_ref": "main"}}},
		{"gitlab", map[string]string{
			"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/platform/api", "CI_COMMIT_SHA": sha, "CI_COMMIT_REF_NAME": "main",
			"CI_PIPELINE_IID": "17", "CI_PIPELINE_ID": "5551", "CI_PIPELINE_URL": "https://gitlab.com/acme/platform/api/-/pipelines/5551",
			"GITLAB_USER_LOGIN": "jdoe", "GITLAB_USER_EMAIL": "jdoe@acme.test", "GITLAB_USER_NAME": "Jane Doe",
			"CI_JOB_ID": "900", "CI_JOB_NAME": "deploy", "CI_JOB_URL": "https://gitlab.com/acme/platform/api/-/jobs/900",
			"CI_PIPELINE_SOURCE": "push",
		}, cidetect.Info{System: "gitlab", Repository: "acme/platform/api", SHA: sha, Branch: "main", BuildNumber: "17",
			InvokeID: "5551", BuildURL: "https://gitlab.com/acme/platform/api/-/pipelines/5551", User: "jdoe",
			UserEmail: "jdoe@acme.test", UserName: "Jane Doe", Product: "api", Version: "01234567",
			Metadata: map[string]string{"vi_gl_pipeline_id": "5551", "vi_gl_pipeline_url": "https://gitlab.com/acme/platform/api/-/pipelines/5551",
				"vi_gl_job_id": "900", "vi_gl_job_name": "deploy", "vi_gl_job_url": "https://gitlab.com/acme/platform/api/-/jobs/900",
				"vi_gl_pipeline_source": "push"}}},
		{"jenkins", map[string]string{
			"JENKINS_URL": "https://ci.acme.test/", "GIT_URL": "git@github.com:acme/api.git", "GIT_COMMIT": sha,
			"GIT_BRANCH": "origin/release/2.x", "BUILD_NUMBER": "311", "BUILD_ID": "311", "BUILD_URL": "https://ci.acme.test/job/api/311/",
			"BUILD_USER": "Jane Doe", "BUILD_USER_ID": "jdoe", "BUILD_USER_EMAIL": "jdoe@acme.test", "JOB_NAME": "api",
			"NODE_NAME": "agent-3", "EXECUTOR_NUMBER": "1",
		}, cidetect.Info{System: "jenkins", Repository: "github.com/acme/api", SHA: sha, Branch: "origin/release/2.x", BuildNumber: "311",
			InvokeID: "311", BuildURL: "https://ci.acme.test/job/api/311/", User: "Jane Doe", UserEmail: "jdoe@acme.test",
			Product: "api", Version: "311", Metadata: map[string]string{"vi_jenkins_job_name": "api",
				"vi_jenkins_build_url": "https://ci.acme.test/job/api/311/", "vi_jenkins_node_name": "agent-3",
				"vi_jenkins_executor_number": "1"}}},
		{"jenkins without the build user plugin", map[string]string{
			"JENKINS_URL": "https://ci.acme.test/", "GIT_URL": "https://github.com/acme/web", "BUILD_NUMBER": "5", "BUILD_USER": "jdoe",
		}, cidetect.Info{System: "jenkins", Repository: "github.com/acme/web", BuildNumber: "5", User: "jdoe",
			Product: "web", Version: "5"}},
		{"circleci", map[string]string{
			"CIRCLECI": "true", "CIRCLE_PROJECT_USERNAME": "acme", "CIRCLE_PROJECT_REPONAME": "api", "CIRCLE_SHA1": sha,
			"CIRCLE_BRANCH": "main", "CIRCLE_BUILD_NUM": "77", "CIRCLE_WORKFLOW_ID": "wf-1", "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/api/77",
			"CIRCLE_USERNAME": "jdoe", "CIRCLE_WORKFLOW_JOB_ID": "job-1", "CIRCLE_JOB": "deploy", "CIRCLE_NODE_INDEX": "0",
		}, cidetect.Info{System: "circleci", Repository: "acme/api", SHA: sha, Branch: "main", BuildNumber: "77",
			InvokeID: "wf-1", BuildURL: "https://circleci.com/gh/acme/api/77", User: "jdoe", Product: "api", Version: "01234567",
			Metadata: map[string]string{"vi_circle_workflow_id": "wf-1", "vi_circle_workflow_job_id": "job-1",
				"vi_circle_job_name": "deploy", "vi_circle_node_index": "0"}}},
		{"circleci tag build", map[string]string{"CIRCLECI": "true", "CIRCLE_TAG": "v1.2.3", "CIRCLE_PROJECT_REPONAME": "api"},
			cidetect.Info{System: "circleci", Branch: "v1.2.3", Product: "api"}},
		{"bitbucket", map[string]string{
			"BITBUCKET_BUILD_NUMBER": "12", "BITBUCKET_REPO_FULL_NAME": "acme/api", "BITBUCKET_COMMIT": sha, "BITBUCKET_BRANCH": "main",
			"BITBUCKET_PIPELINE_UUID": "{p-1}", "BITBUCKET_STEP_UUID": "{s-1}", "BITBUCKET_WORKSPACE": "acme", "BITBUCKET_REPO_SLUG": "api",
		}, cidetect.Info{System: "bitbucket", Repository: "acme/api", SHA: sha, Branch: "main", BuildNumber: "12",
			InvokeID: "{p-1}", BuildURL: "https://bitbucket.org/acme/api/pipelines/results/12", Product: "api", Version: "01234567",
			Metadata: map[string]string{"vi_bb_pipeline_uuid": "{p-1}", "vi_bb_step_uuid": "{s-1}", "vi_bb_workspace": "acme",
				"vi_bb_repo_slug": "api"}}},
		{"bitbucket tag", map[string]string{"BITBUCKET_BUILD_NUMBER": "3", "BITBUCKET_TAG": "v2"},
			cidetect.Info{System: "bitbucket", Branch: "v2", BuildNumber: "3"}},
		{"azure devops", map[string]string{
			"TF_BUILD": "True", "BUILD_REPOSITORY_NAME": "acme/api", "BUILD_SOURCEVERSION": sha, "BUILD_SOURCEBRANCH": "refs/heads/feature/x",
			"BUILD_SOURCEBRANCHNAME": "x", "BUILD_BUILDNUMBER": "20240101.3", "BUILD_BUILDID": "4411",
			"BUILD_BUILDURI": "vstfs:///Build/Build/4411", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
			"SYSTEM_TEAMPROJECT": "Platform Team", "BUILD_REQUESTEDFOR": "Jane Doe", "BUILD_REQUESTEDFOREMAIL": "jdoe@acme.test",
			"BUILD_DEFINITIONNAME": "api-ci", "AGENT_NAME": "Hosted Agent",
		}, cidetect.Info{System: "azure-devops", Repository: "acme/api", SHA: sha, Branch: "x", BuildNumber: "20240101.3",
			InvokeID: "4411", BuildURL: "vstfs:///Build/Build/4411", User: "Jane Doe",
			UserEmail: "jdoe@acme.test", Product: "api", Version: "20240101.3",
			Metadata: map[string]string{"vi_azure_build_id": "4411", "vi_azure_definition_name": "api-ci",
				"vi_azure_agent_name": "Hosted Agent", "vi_azure_team_project": "Platform Team"}}},
		{"azure devops without collection", map[string]string{
			"TF_BUILD": "True", "BUILD_BUILDID": "1", "BUILD_BUILDURI": "vstfs:///Build/Build/1", "BUILD_SOURCEBRANCH": "refs/pull/4/merge",
			"BUILD_SOURCEBRANCHNAME": "merge",
		}, cidetect.Info{System: "azure-devops", Branch: "merge", InvokeID: "1", BuildURL: "vstfs:///Build/Build/1",
			Metadata: map[string]string{"vi_azure_build_id": "1"}}},
		{"travis", map[string]string{
			"TRAVIS": "true", "TRAVIS_REPO_SLUG": "acme/api", "TRAVIS_COMMIT": sha, "TRAVIS_BRANCH": "main", "TRAVIS_BUILD_NUMBER": "88",
			"TRAVIS_BUILD_ID": "123456", "TRAVIS_BUILD_WEB_URL": "https://app.travis-ci.com/acme/api/builds/123456",
			"TRAVIS_JOB_ID": "654321", "TRAVIS_JOB_NUMBER": "88.1", "TRAVIS_EVENT_TYPE": "push",
		}, cidetect.Info{System: "travis", Repository: "acme/api", SHA: sha, Branch: "main", BuildNumber: "88", InvokeID: "123456",
			BuildURL: "https://app.travis-ci.com/acme/api/builds/123456", Product: "api", Version: "01234567",
			Metadata: map[string]string{"vi_travis_build_id": "123456", "vi_travis_job_id": "654321", "vi_travis_job_number": "88.1",
				"vi_travis_event_type": "push"}}},
		{"travis tag", map[string]string{"TRAVIS": "true", "TRAVIS_TAG": "v9"}, cidetect.Info{System: "travis", Branch: "v9"}},
		{"rundeck", map[string]string{
			"RD_JOB_ID": "uuid-1", "RD_JOB_EXECID": "1001", "RD_JOB_SERVERURL": "https://rundeck.acme.test/", "RD_JOB_PROJECT": "ops",
			"RD_JOB_NAME": "deploy-api", "RD_JOB_GROUP": "deploys", "RD_JOB_USERNAME": "jdoe",
			"RD_JOB_URL": "https://rundeck.acme.test/project/ops/job/show/uuid-1",
		}, cidetect.Info{System: "rundeck", BuildNumber: "1001", InvokeID: "1001",
			BuildURL: "https://rundeck.acme.test//project/ops/execution/show/1001", User: "jdoe", Product: "deploy-api", Version: "1001",
			Metadata: map[string]string{"vi_rd_job_id": "uuid-1", "vi_rd_job_execid": "1001",
				"vi_rd_job_serverurl": "https://rundeck.acme.test/", "vi_rd_job_project": "ops", "vi_rd_job_name": "deploy-api",
				"vi_rd_job_group": "deploys", "vi_rd_job_url": "https://rundeck.acme.test/project/ops/job/show/uuid-1"}}},
		{"rundeck older user variable", map[string]string{"RD_JOB_ID": "u", "RD_JOB_USER_NAME": "ops-bot"},
			cidetect.Info{System: "rundeck", User: "ops-bot", Metadata: map[string]string{"vi_rd_job_id": "u"}}},
		{"first system wins", map[string]string{"GITHUB_ACTIONS": "true", "JENKINS_URL": "https://ci", "GITHUB_RUN_ID": "5",
			"GITHUB_REPOSITORY": "a/b", "BUILD_NUMBER": "9"},
			cidetect.Info{System: "github", Repository: "a/b", InvokeID: "5", Product: "b"}},
		{"azure needs TF_BUILD=True exactly", map[string]string{"TF_BUILD": "true"}, cidetect.Info{}},
		{"github product only from owner/name", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "a/b/c"},
			cidetect.Info{System: "github", Repository: "a/b/c"}},
		{"flags need their exact value", map[string]string{"GITHUB_ACTIONS": "false", "GITLAB_CI": "", "TRAVIS": "1"}, cidetect.Info{}},
		{"values are taken as set", map[string]string{"GITLAB_CI": " TRUE ", "CI_COMMIT_SHA": " abc \n"}, cidetect.Info{}},
		{"gitlab short SHA", map[string]string{"GITLAB_CI": "true", "CI_COMMIT_SHA": "abc"},
			cidetect.Info{System: "gitlab", SHA: "abc", Version: "abc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := cidetect.Detect(envOf(tc.env))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Detect:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// Every system the CLI documents is detected by its marker alone.
func TestEverySystemHasAMarker(t *testing.T) {
	t.Parallel()
	markers := map[string][2]string{
		"github": {"GITHUB_ACTIONS", "true"}, "gitlab": {"GITLAB_CI", "true"}, "jenkins": {"JENKINS_URL", "http://j"},
		"circleci": {"CIRCLECI", "true"}, "bitbucket": {"BITBUCKET_BUILD_NUMBER", "1"}, "azure-devops": {"TF_BUILD", "True"},
		"travis": {"TRAVIS", "true"}, "rundeck": {"RD_JOB_ID", "x"},
	}
	names := cidetect.Systems()
	if len(names) != len(markers) {
		t.Fatalf("Systems() = %v; the test knows %d", names, len(markers))
	}
	for _, name := range names {
		m, ok := markers[name]
		if !ok {
			t.Fatalf("no marker for %s", name)
		}
		if got := cidetect.Detect(envOf(map[string]string{m[0]: m[1]})).System; got != name {
			t.Errorf("%s=%s: detected %q, want %q", m[0], m[1], got, name)
		}
	}
}

// The Versioner CLI's reading of GIT_URL, host included; credentials in an
// http(s) URL are dropped.
func TestNormalizeGitURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://github.com/acme/api.git":                "github.com/acme/api",
		"http://gitlab.acme.test/group/sub/api":          "gitlab.acme.test/group/sub/api",
		"git@github.com:acme/api.git":                    "github.com/acme/api",
		"ssh://git@bitbucket.acme.test:7999/ops/api.git": "ssh///git@bitbucket.acme.test:7999/ops/api",
		"https://host:8443/acme/api.git":                 "host/8443/acme/api",
		"acme/api":                                       "acme/api",
		"":                                               "",
		"https://user:s3cret@github.com/acme/api.git":    "github.com/acme/api",
		"https://tok@github.com":                         "github.com",
	} {
		if got := cidetect.NormalizeGitURL(in); got != want {
			t.Errorf("NormalizeGitURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeGitURL(f *testing.F) {
	for _, s := range []string{"https://u:p@github.com/acme/api.git", "git@github.com:acme/api.git", "ssh://h:1/x.git/", "a:b:c", "://", "/.git/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, u := range []string{"https://user:s3cr3t@example.com/" + s, "http://s3cr3t@example.com/" + s} {
			if strings.Contains(cidetect.NormalizeGitURL(u), "s3cr3t@") && !strings.Contains(s, "s3cr3t@") {
				t.Errorf("NormalizeGitURL(%q) keeps the credentials", u)
			}
		}
	})
}

func FuzzDetect(f *testing.F) {
	f.Add("GITHUB_ACTIONS", "true", "x/y")
	f.Add("TF_BUILD", "TRUE", "feature/x")
	f.Add("RD_JOB_ID", " ", "")
	f.Fuzz(func(t *testing.T, marker, value, other string) {
		in := cidetect.Detect(func(k string) string {
			if k == marker {
				return value
			}
			return other
		})
		if in.System != "" && !slices.Contains(cidetect.Systems(), in.System) {
			t.Errorf("unknown system %q", in.System)
		}
		for k, v := range in.Metadata {
			if !strings.HasPrefix(k, "vi_") || v == "" {
				t.Errorf("metadata %q=%q", k, v)
			}
		}
	})
}
