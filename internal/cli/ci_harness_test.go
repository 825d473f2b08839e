package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/client"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
)

// ciServer is a real shiplog serving on loopback inside the test process,
// with one organisation; the CI commands run as subprocesses against it.
type ciServer struct {
	url string
	key string         // the org's API key
	pat string         // an admin's personal access token (rules need a person)
	c   *client.Client // reads back what was recorded
}

func startServer(t *testing.T) *ciServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", DB: "sqlite://" + filepath.Join(t.TempDir(), "s.db"),
		SecretKey: testKey, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s := &ciServer{url: a.URL()}
	err = a.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		now := shiplog.SystemClock{}.Now()
		org, err := tx.OrgCreate(ctx, "acme", now)
		if err != nil {
			return err
		}
		if _, s.key, err = auth.CreateKey(ctx, tx, org, "ci", now); err != nil {
			return err
		}
		u := &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: "ada@example.com", Name: "Ada", Roles: []string{"admin"}, CreatedAt: now}
		if err := tx.UserCreate(ctx, u, ""); err != nil {
			return err
		}
		s.pat, err = auth.CreateToken(ctx, tx, u, "test", now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.c, err = client.New(s.url, s.key); err != nil {
		t.Fatal(err)
	}
	return s
}

// rule creates a deployment rule through the API, as the admin.
func (s *ciServer) rule(t *testing.T, r map[string]any) {
	t.Helper()
	b, _ := json.Marshal(r)
	req, _ := http.NewRequest(http.MethodPost, s.url+"/deployment-rules/", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+s.pat)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("create rule: %d %s", res.StatusCode, body)
	}
}

// freeze blocks deployments to env for the hour around now.
func freeze(name, env, status string) map[string]any {
	now := time.Now().UTC()
	return map[string]any{"name": name, "rule_type": "schedule", "status": status, "environment_names": []string{env},
		"schedule": map[string]any{"recurrence": "once", "time_zone": "UTC", "start": now.Add(-time.Hour).Format("2006-01-02T15:04"),
			"end": now.Add(time.Hour).Format("2006-01-02T15:04"), "reason": "release train"}}
}

// deployments lists what the server recorded for a product, newest first.
func (s *ciServer) deployments(t *testing.T, product string) []*shiplog.Deployment {
	t.Helper()
	l, err := s.c.Deployments(context.Background(), client.Query{ProductName: product})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// only returns the one deployment of a product, with its metadata.
func (s *ciServer) only(t *testing.T, product string) (*shiplog.Deployment, map[string]any) {
	t.Helper()
	ds := s.deployments(t, product)
	if len(ds) != 1 {
		t.Fatalf("%d deployments of %s, want 1", len(ds), product)
	}
	var meta map[string]any
	if len(ds[0].ExtraMetadata) > 0 {
		if err := json.Unmarshal(ds[0].ExtraMetadata, &meta); err != nil {
			t.Fatal(err)
		}
	}
	return ds[0], meta
}

// result is a finished shiplog process.
type result struct {
	code           int
	stdout, stderr string
}

// call is one shiplog invocation. The environment is exactly: PATH, the
// server's SHIPLOG_URL and SHIPLOG_API_KEY, instant retries, then env (an
// empty value removes a variable). So nothing of the machine running the
// tests — a real CI's GITHUB_ACTIONS, say — leaks in. "\x00" sets a
// variable to the empty string.
type call struct {
	env   map[string]string
	stdin string
	args  []string
	dir   string // working directory ("" : the test's)
}

func (s *ciServer) environ(env map[string]string) []string {
	base := map[string]string{"SHIPLOG_CLI_CHILD": "1", "PATH": os.Getenv("PATH"), "SHIPLOG_URL": s.url,
		"SHIPLOG_API_KEY": s.key, "SHIPLOG_RETRY_WAITS": "1ms,1ms,1ms"}
	for k, v := range env {
		base[k] = v
	}
	var out []string
	for k, v := range base {
		switch v {
		case "":
		case "\x00": // set, and empty
			out = append(out, k+"=")
		default:
			out = append(out, k+"="+v)
		}
	}
	return out
}

func (s *ciServer) command(c call) *exec.Cmd {
	cmd := exec.Command(os.Args[0], c.args...)
	cmd.Env = s.environ(c.env)
	cmd.Dir = c.dir
	if c.stdin != "" {
		cmd.Stdin = strings.NewReader(c.stdin)
	}
	return cmd
}

// shiplog runs the binary to its end.
func (s *ciServer) shiplog(t *testing.T, c call) result {
	t.Helper()
	cmd := s.command(c)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
}

// closedURL is a URL nothing listens on: port 1 on loopback. (A port freed
// after listening could be taken by another test's server meanwhile.)
func closedURL(t *testing.T) string {
	t.Helper()
	return "http://127.0.0.1:1"
}

// jsonReport parses the one JSON object a command printed.
func jsonReport(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value:\n%s", s)
	}
	return m
}

func args(s ...string) []string { return s }
