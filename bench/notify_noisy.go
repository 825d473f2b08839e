package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The noisy-neighbour measurement: org A's latency at the fixed rate while
// org B has a backlog of deliveries queued for a receiver that never
// answers, beside the same load on the same server without org B.

// Targets of the noisy-neighbour measurement.
const (
	noisyMaxP99Ratio = 2.0 // org A's p99 (from the send) with org B's backlog over its quiet p99
	noisyMaxCPURatio = 1.2 // server CPU with the backlog over without
)

// noisyResult is the noisy-neighbour measurement.
type noisyResult struct {
	backlog      int // org B's events accepted, one delivery each
	fillErrors   int
	fill         time.Duration // time to queue them
	quiet, noisy *latencyResult
	hungTotal    int64 // requests org B's receiver got, from the start of its load to the end
	hungDuring   int64 // … of which during org A's noisy run
}

// hangingReceiver takes requests and never answers them (until it stops):
// a receiver that is down behind a load balancer that still accepts.
type hangingReceiver struct {
	addr string
	srv  *http.Server
	n    atomic.Int64
	done chan struct{}
}

func startHanging(cl *cleanups) (*hangingReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &hangingReceiver{addr: ln.Addr().String(), done: make(chan struct{})}
	h.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.n.Add(1)
		select {
		case <-h.done:
		case <-r.Context().Done():
		}
	})}
	go func() { _ = h.srv.Serve(ln) }()
	var once sync.Once
	cl.add(func() {
		once.Do(func() { close(h.done) })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.srv.Shutdown(ctx)
	})
	return h, nil
}

// createOrg makes another org on the server's database with the CLI, as
// startShiplog does for the first, and returns its API key and an owner's token.
func createOrg(ctx context.Context, bin, dbURL, name string) (key, admin string, err error) {
	last := func(out string) string {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	out, err := runCmd(ctx, 2*time.Minute, "", bin, "org", "create", name, "--db", dbURL)
	if err != nil {
		return "", "", fmt.Errorf("org create %s: %w", name, err)
	}
	key = last(out)
	email := "owner@" + name + ".test"
	if _, err := runCmd(ctx, time.Minute, "", bin, "user", "create", "--org", name, "--email", email, "--name", "Owner",
		"--role", "owner", "--db", dbURL); err != nil {
		return "", "", fmt.Errorf("user create: %w", err)
	}
	out, err = runCmd(ctx, time.Minute, "", bin, "token", "create", "--org", name, "--email", email, "--db", dbURL)
	if err != nil {
		return "", "", fmt.Errorf("token create: %w", err)
	}
	return key, last(out), nil
}

// runNoisy measures org A's latency quiet, then queues org B's backlog for
// a hanging receiver and measures org A's latency again.
func runNoisy(ctx context.Context, cfg notifyConfig, cl *cleanups, t *target, rcv *receiver, a *api, bin, dbURL, hook, secret string,
	progress func(string, ...any)) (*noisyResult, error) {
	res := &noisyResult{}
	id, err := a.createChannel(ctx, "noisy-a", hook+"noisy", secret, "deployment.completed")
	if err != nil {
		return nil, err
	}
	progress("noisy: org A alone, %d events/s for %s", cfg.rate, cfg.duration)
	if res.quiet, err = measureLatency(ctx, t, rcv, cfg.rate, cfg.duration); err != nil {
		return nil, err
	}
	progress("noisy: org A alone: send → received p50 %s, p99 %s, server CPU %s",
		ms(res.quiet.fromSend.p50), ms(res.quiet.fromSend.p99), cores(res.quiet.cpu, res.quiet.span))

	hang, err := startHanging(cl)
	if err != nil {
		return nil, err
	}
	keyB, adminB, err := createOrg(ctx, bin, dbURL, "noisy-b")
	if err != nil {
		return nil, err
	}
	tb := &target{name: t.name, base: t.base, url: t.url, key: keyB, admin: adminB, proc: t.proc}
	b := newAPI(tb)
	defer b.client.CloseIdleConnections()
	chs, err := b.channels(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range chs { // its default email channel would fail every event at once without SMTP
		if err := b.deleteChannel(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	if _, err := b.createChannel(ctx, "hanging", "http://"+hang.addr+"/never", secret, "deployment.completed"); err != nil {
		return nil, err
	}
	progress("noisy: queueing %d events of org B for a receiver that never answers", cfg.noisyBacklog)
	start := time.Now()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32}}
	var next, failed, accepted atomic.Int64
	var wg sync.WaitGroup
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(cfg.noisyBacklog); i = next.Add(1) - 1 {
				body := appendNotifyEvent(nil, "noisy-b", "1."+run+"."+strconv.FormatInt(i, 10))
				if kind, _ := post(ctx, client, tb, body); kind != "" {
					failed.Add(1)
					continue
				}
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	client.CloseIdleConnections()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.backlog, res.fillErrors, res.fill = int(accepted.Load()), int(failed.Load()), time.Since(start)
	progress("noisy: %d queued in %s (%d failed); the hanging receiver has %d requests open",
		res.backlog, res.fill.Round(time.Millisecond), res.fillErrors, hang.n.Load())

	progress("noisy: org A with org B's backlog, %d events/s for %s", cfg.rate, cfg.duration)
	before := hang.n.Load()
	if res.noisy, err = measureLatency(ctx, t, rcv, cfg.rate, cfg.duration); err != nil {
		return nil, err
	}
	res.hungDuring, res.hungTotal = hang.n.Load()-before, hang.n.Load()
	progress("noisy: org A with the backlog: send → received p50 %s, p99 %s, server CPU %s; org B's receiver got %d requests meanwhile",
		ms(res.noisy.fromSend.p50), ms(res.noisy.fromSend.p99), cores(res.noisy.cpu, res.noisy.span), res.hungDuring)
	if err := a.deleteChannel(ctx, id); err != nil {
		return nil, err
	}
	return res, nil
}

// cpuRatio is server CPU per second of the noisy run over the quiet one's.
func (n *noisyResult) cpuRatio() float64 {
	q := n.quiet.cpu.server.Seconds() / n.quiet.span.Seconds()
	if q <= 0 || n.noisy.span <= 0 {
		return 0
	}
	return n.noisy.cpu.server.Seconds() / n.noisy.span.Seconds() / q
}

func (n *noisyResult) p99Ratio() float64 {
	if n.quiet.fromSend.p99 <= 0 {
		return 0
	}
	return float64(n.noisy.fromSend.p99) / float64(n.quiet.fromSend.p99)
}
