package cli_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A process killed while a delivery is in flight loses nothing: after a
// restart the delivery is sent again, with the same webhook-id, once its
// lease expires.
func TestCrashMidDeliveryIsDeliveredAfterRestart(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	first := true
	inFlight := make(chan struct{})
	release := make(chan struct{})
	got := make(chan string, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hold := first
		first = false
		mu.Unlock()
		if hold {
			// The first attempt never completes: its sender is killed.
			close(inFlight)
			<-release
			return
		}
		got <- r.Header.Get("Webhook-Id")
	}))
	defer func() { close(release); rcv.Close() }()

	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	_, out, _ := run(t, "org", "create", "acme", "--db", db)
	key := lastLine(out)
	owner := ownerToken(t, db, "acme")
	c := serve(t, db, "--allow-private-targets", "--delivery-lease", "2s")
	req, _ := http.NewRequest(http.MethodPost, c.url+"/notification-channels/", strings.NewReader(
		`{"kind":"webhook","name":"w","url":"`+rcv.URL+`","events":["deployment.completed"]}`))
	req.Header.Set("Authorization", "Bearer "+owner)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create channel: %v %v", res, err)
	}
	res.Body.Close()
	if code, _, err := post(c.url, key, `{"product_name":"api","version":"1","environment_name":"prod","status":"success"}`); err != nil || code != 200 {
		t.Fatalf("event: %d %v", code, err)
	}
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery never started")
	}
	if err := c.cmd.Process.Kill(); err != nil { // kill -9 mid-delivery
		t.Fatal(err)
	}
	<-c.done
	c.done <- nil

	c2 := serve(t, db, "--allow-private-targets")
	var id string
	select {
	case id = <-got:
	case <-time.After(60 * time.Second):
		t.Fatal("the delivery was lost across the crash")
	}
	// The log shows it delivered (recorded just after the receiver
	// answered), and it is the one that was in flight.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, _ = http.NewRequest(http.MethodGet, c2.url+"/deliveries/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 && strings.Contains(b.String(), `"state":"succeeded"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s after restart: %d %s", id, res.StatusCode, b.String())
		}
	}
	select {
	case dup := <-got:
		t.Errorf("delivered twice after restart: %s", dup)
	default:
	}
}
