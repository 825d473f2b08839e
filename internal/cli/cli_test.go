package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/cli"
)

// The test binary doubles as the shiplog binary for subprocess tests.
func TestMain(m *testing.M) {
	if os.Getenv("SHIPLOG_CLI_CHILD") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

var keyPattern = regexp.MustCompile(`^sk_([a-z0-9-]+)_k(\d+)_[0-9A-Za-z]{43}$`)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestOrgAndAPIKeyCommands(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	code, out, errs := run(t, "org", "create", "acme", "--db", db)
	if code != 0 {
		t.Fatalf("org create: %d %s", code, errs)
	}
	k1 := lastLine(out)
	if m := keyPattern.FindStringSubmatch(k1); m == nil || m[1] != "acme" || m[2] != "1" {
		t.Fatalf("last line is not a k1 key: %q", k1)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"org", "create", "acme", "--db", db}, `organisation "acme" already exists`},
		{[]string{"org", "create", "Acme_Corp", "--db", db}, `invalid organisation name "Acme_Corp": use lowercase letters, digits and hyphens`},
		{[]string{"org", "create", strings.Repeat("a", 64), "--db", db}, "invalid organisation name"},
		{[]string{"apikey", "list", "--org", "nobody", "--db", db}, `no organisation named "nobody"`},
		{[]string{"apikey", "revoke", "k9", "--org", "acme", "--db", db}, `organisation acme has no API key "k9"`},
		{[]string{"serve", "--db", "mysql://x"}, `unsupported database URL "mysql://x"`},
		{[]string{"serve", "--db", "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=1", "--secret-key", testKey}, "connect to postgres"},
		{[]string{"serve", "--db", "postgres://u:hunter2@127.0.0.1:1/x"}, "PostgreSQL needs --secret-key"},
		{[]string{"serve", "--secret-key", "short"}, "secret key must be 32 bytes"},
		{[]string{"org", "create", "beta", "--owner-email", "not an address", "--db", db}, `invalid email address "not an address"`},
	} {
		code, _, errs := run(t, tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, errs, tc.want)
		}
		if strings.Contains(errs, "hunter2") {
			t.Errorf("%v: password printed: %s", tc.args, errs)
		}
	}
	code, out, _ = run(t, "apikey", "create", "--org", "acme", "--name", "deploy-bot", "--db", db)
	k2 := lastLine(out)
	if m := keyPattern.FindStringSubmatch(k2); code != 0 || m == nil || m[2] != "2" {
		t.Fatalf("apikey create: %d %q", code, out)
	}
	if code, _, _ := run(t, "apikey", "revoke", "k1", "--org", "acme", "--db", db); code != 0 {
		t.Fatal("revoke failed")
	}
	code, out, _ = run(t, "apikey", "list", "--org", "acme", "--db", db)
	if code != 0 || !strings.Contains(out, "deploy-bot") || strings.Count(out, "\n") != 3 {
		t.Fatalf("list: %q", out)
	}
	secret1, secret2 := k1[strings.LastIndex(k1, "_")+1:], k2[strings.LastIndex(k2, "_")+1:]
	if strings.Contains(out, secret1) || strings.Contains(out, secret2) || strings.Contains(out, secret1[:20]) {
		t.Error("list shows a secret")
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[1], "k1") || strings.HasSuffix(strings.TrimSpace(lines[1]), "-") {
		t.Errorf("k1 not shown as revoked: %q", lines[1])
	}
	if !strings.HasSuffix(strings.TrimSpace(lines[2]), "-") {
		t.Errorf("k2 shown as revoked: %q", lines[2])
	}
	if code, out, _ := run(t, "version"); code != 0 || !strings.HasPrefix(out, "shiplog ") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, _ := run(t, "--help"); code != 0 {
		t.Errorf("--help exit %d", code)
	}
	if code, _, _ := run(t, "bogus"); code != 1 {
		t.Errorf("unknown command exit %d", code)
	}
}

// child is a shiplog serve process.
type child struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

func serve(t *testing.T, db string, extra ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, extra...)...)
	cmd.Env = append(os.Environ(), "SHIPLOG_CLI_CHILD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-c.done })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`msg="shiplog listening" addr=(\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		c.done <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		c.url = "http://" + a
	case err := <-c.done:
		c.done <- err
		t.Fatalf("serve exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start listening")
	}
	return c
}

func post(url, key, body string) (int, map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, url+"/deployment-events/", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, nil
}

func getStatus(t *testing.T, url, key, id string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/deployments/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	s, _ := m["status"].(string)
	return s
}

// load posts events from several goroutines until stop closes, returning
// the ids the server acknowledged with 200.
func load(url, key string, stop <-chan struct{}) func() []string {
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, m, err := post(url, key, fmt.Sprintf(`{"product_name":"p%d","version":"1.%d","environment_name":"prod","status":"success"}`, w, i))
				if err != nil {
					return // the server is gone
				}
				if code == 200 {
					mu.Lock()
					acked = append(acked, m["id"].(string))
					mu.Unlock()
				}
			}
		})
	}
	return func() []string { wg.Wait(); return acked }
}

func TestServeDrainsOnSIGTERM(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	_, out, _ := run(t, "org", "create", "acme", "--db", db)
	key := lastLine(out)
	c := serve(t, db)
	stop := make(chan struct{})
	wait := load(c.url, key, stop)
	if code, _, err := post(c.url, key, `{"product_name":"warm","version":"1","environment_name":"prod","status":"success"}`); err != nil || code != 200 {
		t.Fatalf("warm-up: %d %v", code, err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := <-c.done
	c.done <- err
	close(stop)
	acked := wait()
	if err != nil {
		t.Fatalf("serve exited with %v after SIGTERM, want exit 0", err)
	}
	c2 := serve(t, db)
	for _, id := range acked {
		if st := getStatus(t, c2.url, key, id); st != "completed" {
			t.Fatalf("acknowledged deployment %s lost after SIGTERM (status %q)", id, st)
		}
	}
	t.Logf("%d acknowledged events all present after SIGTERM", len(acked))
}

func TestKill9LosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	_, out, _ := run(t, "org", "create", "acme", "--db", db)
	key := lastLine(out)
	c := serve(t, db)
	stop := make(chan struct{})
	wait := load(c.url, key, stop)
	// Let some events through, then kill without warning.
	for i := 0; i < 50; i++ {
		if code, _, err := post(c.url, key, `{"product_name":"x","version":"1","environment_name":"prod","status":"started"}`); err != nil || code != 200 {
			t.Fatalf("post: %d %v", code, err)
		}
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
	c.done <- nil
	close(stop)
	acked := wait()
	if len(acked) == 0 {
		t.Fatal("no event acknowledged before the kill")
	}
	c2 := serve(t, db)
	for _, id := range acked {
		if st := getStatus(t, c2.url, key, id); st != "completed" {
			t.Fatalf("acknowledged deployment %s lost after kill -9 (status %q)", id, st)
		}
	}
	t.Logf("%d acknowledged events all present after kill -9", len(acked))
}
