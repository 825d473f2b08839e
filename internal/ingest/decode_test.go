package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
)

func TestDecodeDeploymentErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 256)
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, "Request body is empty; send a JSON object"},
		{"malformed", `{"product_name":`, "Invalid JSON in request body"},
		{"trailing garbage", `{"a":1} x`, "Invalid JSON in request body"},
		{"array", `[1,2]`, "Request body must be a JSON object"},
		{"string", `"hi"`, "Request body must be a JSON object"},
		{"missing product", `{"version":"1","environment_name":"p","status":"success"}`, "Field 'product_name' is required"},
		{"null product", `{"product_name":null,"version":"1","environment_name":"p","status":"success"}`, "Field 'product_name' is required"},
		{"missing version", `{"product_name":"a","environment_name":"p","status":"success"}`, "Field 'version' is required"},
		{"missing env", `{"product_name":"a","version":"1","status":"success"}`, "Field 'environment_name' is required"},
		{"missing status", `{"product_name":"a","version":"1","environment_name":"p"}`, "Field 'status' is required"},
		{"blank product", `{"product_name":"  ","version":"1","environment_name":"p","status":"success"}`, "Field 'product_name' must not be empty"},
		{"number version", `{"product_name":"a","version":1.2,"environment_name":"p","status":"success"}`, "Field 'version' must be a string"},
		{"object status", `{"product_name":"a","version":"1","environment_name":"p","status":{}}`, "Field 'status' must be a string"},
		{"unknown status", `{"product_name":"a","version":"1","environment_name":"p","status":"yay"}`, "Invalid status 'yay' for a deployment event; accepted values: pending, queued"},
		{"build word", `{"product_name":"a","version":"1","environment_name":"p","status":"built"}`, "Invalid status 'built'"},
		{"too long", `{"product_name":"` + long + `","version":"1","environment_name":"p","status":"success"}`, "Field 'product_name' is too long (256 bytes; the limit is 255)"},
		{"NUL", `{"product_name":"a\u0000b","version":"1","environment_name":"p","status":"success"}`, "Field 'product_name' must not contain NUL characters"},
		{"metadata array", `{"product_name":"a","version":"1","environment_name":"p","status":"success","extra_metadata":[1]}`, "Field 'extra_metadata' must be a JSON object"},
		{"metadata string", `{"product_name":"a","version":"1","environment_name":"p","status":"success","extra_metadata":"{}"}`, "Field 'extra_metadata' must be a JSON object"},
		{"metadata too big", `{"product_name":"a","version":"1","environment_name":"p","status":"success","extra_metadata":{"k":"` + strings.Repeat("y", MaxMetadataBytes) + `"}}`, "Field 'extra_metadata' is too large"},
		{"bad time", `{"product_name":"a","version":"1","environment_name":"p","status":"success","completed_at":"yesterday"}`, "Field 'completed_at' must be an RFC 3339 timestamp"},
		{"bad bool", `{"product_name":"a","version":"1","environment_name":"p","status":"success","skip_preflight_checks":"yes"}`, "Field 'skip_preflight_checks' must be true or false"},
		{"optional wrong type", `{"product_name":"a","version":"1","environment_name":"p","status":"success","deployed_by":7}`, "Field 'deployed_by' must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeDeployment([]byte(tt.body))
			if err == nil {
				t.Fatalf("accepted %s", tt.body)
			}
			if shiplog.ErrorCode(err) != shiplog.EINVALID {
				t.Errorf("code = %s", shiplog.ErrorCode(err))
			}
			if msg := shiplog.ErrorMessage(err); !strings.HasPrefix(msg, tt.want) {
				t.Errorf("message = %q\nwant prefix %q", msg, tt.want)
			}
		})
	}
}

func TestDecodeDeploymentFields(t *testing.T) {
	t.Parallel()
	body := `{"product_name":" my-service ","version":"1.2.3","environment_name":"production","status":" Success ",
		"deployed_by":"john","deployed_by_email":"j@example.com","deployed_by_name":"John","scm_branch":"main",
		"scm_sha":"abc123","scm_repository":"org/repo","build_url":"https://ci/1","deploy_url":"https://ci/2",
		"build_number":"456","source_system":"github","invoke_id":"run-9","completed_at":"2025-11-06T16:30:00+01:00",
		"skip_preflight_checks":true,"extra_metadata":{ "b": 1, "a": [true] },"unknown_field":"ignored","scm_branch_x":null}`
	ev, err := DecodeDeployment([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ProductName != "my-service" || ev.Version != "1.2.3" || ev.EnvironmentName != "production" || ev.Status != shiplog.StatusCompleted {
		t.Errorf("required fields: %+v", ev)
	}
	for name, got := range map[string]*string{"deployed_by": ev.DeployedBy, "deployed_by_email": ev.DeployedByEmail,
		"deployed_by_name": ev.DeployedByName, "scm_branch": ev.ScmBranch, "scm_sha": ev.ScmSHA, "scm_repository": ev.ScmRepository,
		"build_url": ev.BuildURL, "deploy_url": ev.DeployURL, "build_number": ev.BuildNumber, "source_system": ev.SourceSystem,
		"invoke_id": ev.InvokeID} {
		if got == nil || *got == "" {
			t.Errorf("%s not decoded", name)
		}
	}
	if ev.CompletedAt == nil || ev.CompletedAt.Format("15:04") != "15:30" || ev.CompletedAt.Location().String() != "UTC" {
		t.Errorf("completed_at = %v (want 15:30 UTC)", ev.CompletedAt)
	}
	if !ev.SkipPreflightChecks {
		t.Error("skip_preflight_checks not decoded")
	}
	if string(ev.ExtraMetadata) != `{"b":1,"a":[true]}` {
		t.Errorf("extra_metadata = %s (want compacted, key order kept)", ev.ExtraMetadata)
	}
	if !json.Valid(ev.Raw) || bytes.Contains(ev.Raw, []byte("\n")) {
		t.Errorf("raw not compact JSON: %s", ev.Raw)
	}
}

func TestDecodeOptionalEmptyIsAbsent(t *testing.T) {
	t.Parallel()
	ev, err := DecodeDeployment([]byte(`{"product_name":"a","version":"1","environment_name":"p","status":"ok-no"}`))
	if err == nil {
		t.Fatalf("accepted unknown status: %+v", ev)
	}
	ev, err = DecodeDeployment([]byte(`{"product_name":"a","version":"1","environment_name":"p","status":"failed","scm_sha":"","deployed_by":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ScmSHA != nil || ev.DeployedBy != nil {
		t.Errorf("empty/null optional fields should be absent: sha=%v by=%v", ev.ScmSHA, ev.DeployedBy)
	}
}

func TestDecodeBuild(t *testing.T) {
	t.Parallel()
	ev, err := DecodeBuild([]byte(`{"product_name":"svc","version":"2","status":"BUILDING","built_by":"ci",
		"started_at":"2025-01-02T03:04:05Z","error_message":"boom","error_code":"E1","extra_metadata":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != shiplog.StatusStarted || *ev.BuiltBy != "ci" || ev.StartedAt == nil || *ev.ErrorMessage != "boom" || *ev.ErrorCode != "E1" {
		t.Errorf("decoded %+v", ev)
	}
	if string(ev.ExtraMetadata) != `{}` {
		t.Errorf("extra_metadata = %s", ev.ExtraMetadata)
	}
	// A build has no environment, and deployment-only words are refused.
	if _, err := DecodeBuild([]byte(`{"product_name":"svc","version":"2","status":"deployed"}`)); err == nil {
		t.Error("build accepted 'deployed'")
	}
	if _, err := DecodeBuild([]byte(`{"product_name":"svc","status":"built"}`)); shiplog.ErrorMessage(err) != "Field 'version' is required" {
		t.Errorf("missing version: %v", err)
	}
}

func TestMergeMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct{ cur, ev, want string }{
		{``, `{"a":1}`, `{"a":1}`},
		{`{"z":1,"a":2}`, ``, `{"z":1,"a":2}`},
		{`{"a":1,"b":2}`, `{"b":3,"c":4}`, `{"a":1,"b":3,"c":4}`},
	}
	for _, tt := range tests {
		got, err := mergeMetadata(json.RawMessage(tt.cur), json.RawMessage(tt.ev))
		if err != nil || string(got) != tt.want {
			t.Errorf("merge(%s, %s) = %s, %v; want %s", tt.cur, tt.ev, got, err, tt.want)
		}
	}
}

func TestNextStatus(t *testing.T) {
	t.Parallel()
	tests := []struct{ cur, ev, want shiplog.Status }{
		{"pending", "started", "started"},
		{"started", "completed", "completed"},
		{"completed", "started", "completed"}, // late event never reopens
		{"failed", "pending", "failed"},
		{"failed", "completed", "completed"}, // a terminal event wins
		{"started", "pending", "pending"},
	}
	for _, tt := range tests {
		if got := nextStatus(tt.cur, tt.ev); got != tt.want {
			t.Errorf("nextStatus(%s, %s) = %s, want %s", tt.cur, tt.ev, got, tt.want)
		}
	}
}

// FuzzDecode checks that no body crashes the decoders, that every refusal is
// a caller error (400), and that whatever is accepted is well-formed.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"product_name":"a","version":"1","environment_name":"p","status":"success"}`,
		`{"product_name":"a","version":"1","status":"built","extra_metadata":{"x":[1,{"y":null}]}}`,
		`{"product_name":"a","version":"1","environment_name":"p","status":"x","completed_at":"2025-01-01T00:00:00Z"}`,
		`[]`, `{`, `null`, `{"product_name":"\u0000"}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, decode := range []func([]byte) (any, error){
			func(b []byte) (any, error) { return DecodeDeployment(b) },
			func(b []byte) (any, error) { return DecodeBuild(b) },
		} {
			v, err := decode(body)
			if err != nil {
				if shiplog.ErrorCode(err) != shiplog.EINVALID {
					t.Fatalf("refusal is not a caller error: %v", err)
				}
				continue
			}
			var raw, meta json.RawMessage
			switch ev := v.(type) {
			case *DeploymentEvent:
				raw, meta = ev.Raw, ev.ExtraMetadata
				if ev.ProductName == "" || ev.Version == "" || ev.EnvironmentName == "" || ev.Status == "" {
					t.Fatalf("accepted without required fields: %+v", ev)
				}
			case *BuildEvent:
				raw, meta = ev.Raw, ev.ExtraMetadata
				if ev.ProductName == "" || ev.Version == "" || ev.Status == "" {
					t.Fatalf("accepted without required fields: %+v", ev)
				}
			}
			if !json.Valid(raw) || (meta != nil && (!json.Valid(meta) || meta[0] != '{' || len(meta) > MaxMetadataBytes)) {
				t.Fatalf("accepted malformed output raw=%q meta=%q", raw, meta)
			}
		}
	})
}
