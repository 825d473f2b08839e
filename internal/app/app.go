// Package app wires configuration, the store, services and the HTTP server
// into one App that main and the end-to-end tests both run.
package app

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/approval"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/httpapi"
	"github.com/shiplog/shiplog/internal/ingest"
	"github.com/shiplog/shiplog/internal/metrics"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/email"
	_ "github.com/shiplog/shiplog/internal/notify/kinds" // the channel kinds this server offers
	"github.com/shiplog/shiplog/internal/notify/outbound"
	"github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/reqid"
	"github.com/shiplog/shiplog/internal/retention"
	"github.com/shiplog/shiplog/internal/secrets"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/postgres"
	"github.com/shiplog/shiplog/internal/store/sqlite"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
	"github.com/shiplog/shiplog/internal/stream"
	"github.com/shiplog/shiplog/internal/web"
)

// Config is everything serve needs; the CLI fills it from flags, env and defaults.
type Config struct {
	Addr string // host:port; port 0 picks a free one
	DB   string // sqlite://path or postgres://…
	Log  *slog.Logger
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration
	Clock           shiplog.Clock

	// SecretKey seals channel secrets (base64 or hex, 32 bytes). Empty: a
	// key file beside the SQLite database, created on first start;
	// PostgreSQL requires it (every replica must share it).
	SecretKey string
	// BaseURL is the public URL used in links; default http://<listen address>.
	BaseURL string
	// SMTPURL (smtp://user:pass@host:port or smtps://…) and MailFrom
	// configure email; without them email deliveries fail with a reason.
	SMTPURL  string
	MailFrom string
	// PasswordIterations is the PBKDF2 cost of passwords set through the
	// API (0: the default, 600 000); tests lower it.
	PasswordIterations int
	// AllowPrivateTargets lets webhooks and Slack URLs reach private,
	// loopback and link-local addresses (tests, internal receivers).
	AllowPrivateTargets bool
	// MetricsToken, when set, is the bearer token GET /metrics requires.
	MetricsToken string
	// Delivery tuning; zero values take the delivery package defaults.
	DeliveryClock        delivery.Clock
	DeliveryLease        time.Duration
	DeliveryPollInterval time.Duration
	DeliveryTimeout      time.Duration
	// Retention: how long events and finished deliveries (with their
	// attempts) are kept; 0 keeps them forever. The serve command's
	// defaults are retention.DefaultEvents and DefaultDeliveries. Expired
	// idempotency keys are pruned either way.
	RetainEvents     time.Duration
	RetainDeliveries time.Duration
	PruneInterval    time.Duration   // 0: retention.DefaultInterval
	RetentionClock   retention.Clock // nil: the system clock
}

// OpenStore opens the database a URL names, running its migrations.
func OpenStore(ctx context.Context, url string, log *slog.Logger, opts ...sqlstore.Option) (store.Store, error) {
	if err := checkDBURL(url); err != nil {
		return nil, err
	}
	if strings.HasPrefix(url, "sqlite:") {
		path, err := sqlite.PathFromURL(url)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path, log, opts...)
	}
	return postgres.Open(ctx, url, log, opts...)
}

func checkDBURL(url string) error {
	for _, p := range []string{"sqlite:", "postgres://", "postgresql://"} {
		if strings.HasPrefix(url, p) {
			return nil
		}
	}
	return fmt.Errorf("unsupported database URL %q: use sqlite://PATH or postgres://USER@HOST/DB", redact(url))
}

// redact hides a password in a URL before it is printed.
func redact(url string) string {
	at := strings.LastIndexByte(url, '@')
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 {
		return url
	}
	creds := url[scheme+3 : at]
	if user, _, ok := strings.Cut(creds, ":"); ok {
		return url[:scheme+3] + user + ":***" + url[at:]
	}
	return url
}

// secretKey finds the key that seals channel secrets.
func secretKey(cfg Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		return secrets.ParseKey(cfg.SecretKey)
	}
	if strings.HasPrefix(cfg.DB, "sqlite:") {
		path, err := sqlite.PathFromURL(cfg.DB)
		if err != nil {
			return nil, err
		}
		return secrets.LoadOrCreateKeyFile(path + ".key")
	}
	return nil, errors.New("PostgreSQL needs --secret-key (or SHIPLOG_SECRET_KEY): 32 bytes in base64, the same on every replica; make one with: openssl rand -base64 32")
}

// App is a running shiplog server.
type App struct {
	cfg    Config
	Store  store.Store
	Worker *delivery.Worker
	Pruner *retention.Pruner
	Stream *stream.Hub // live event streams (API and console)
	// InProcessAPI is the API as the console calls it: in-process, for the
	// principal httpapi.WithPrincipal puts in the request's context.
	InProcessAPI http.Handler
	ln           net.Listener
	srv          *http.Server
	lock         *sqlite.ServerLock // nil on PostgreSQL
}

// Start opens the store and starts listening; Serve runs the server.
func Start(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	// Log lines written with a request's context carry its id.
	cfg.Log = slog.New(reqid.LogHandler(cfg.Log.Handler()))
	if cfg.Clock == nil {
		cfg.Clock = shiplog.SystemClock{}
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.DeliveryClock == nil {
		cfg.DeliveryClock = delivery.SystemClock{}
	}
	if err := checkDBURL(cfg.DB); err != nil {
		return nil, err
	}
	key, err := secretKey(cfg)
	if err != nil {
		return nil, err
	}
	box, err := secrets.New(key)
	if err != nil {
		return nil, err
	}
	var mailer *email.Sender
	if cfg.SMTPURL != "" {
		if mailer, err = email.NewSender(email.Config{URL: cfg.SMTPURL, From: cfg.MailFrom}); err != nil {
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
	}
	st, err := OpenStore(ctx, cfg.DB, cfg.Log, sqlstore.WithCipher(box))
	if err != nil {
		return nil, err
	}
	lock, err := lockServer(ctx, cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		st.Close()
		lock.Close()
		return nil, err
	}
	configuredURL := strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + ln.Addr().String()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	lease := delivery.LeaseFor(cfg.DeliveryLease, cfg.DeliveryTimeout)
	client := outbound.NewClient(outbound.Options{AllowPrivate: cfg.AllowPrivateTargets, Timeout: cfg.DeliveryTimeout})
	env := notify.Env{HTTP: client, Clock: cfg.Clock}
	if mailer != nil {
		env.Mail = mailer
	}
	worker := &delivery.Worker{
		Store: st, Clock: cfg.DeliveryClock, Log: cfg.Log, Env: env,
		Notice:       disabledNotice(st, mailer, cfg),
		BaseURL:      cfg.BaseURL,
		Lease:        lease,
		PollInterval: cfg.DeliveryPollInterval,
		Timeout:      cfg.DeliveryTimeout,
	}
	// The outbox rows' times (due, leased until) are read by the worker
	// against its clock, so they are written on the same one.
	fan := &delivery.Fanout{BaseURL: cfg.BaseURL, Clock: cfg.DeliveryClock, Lease: lease}
	hub := &stream.Hub{Store: st, Log: cfg.Log, BaseURL: cfg.BaseURL}
	ing := &ingest.Service{Store: st, Clock: cfg.Clock, Fanout: fan.Fanout, Dispatch: worker.Dispatch, Notify: hub.Notify,
		BaseURL: cfg.BaseURL}
	api := &httpapi.Server{
		Store:  st,
		Ingest: ing,
		Approvals: &approval.Service{Store: st, Clock: cfg.Clock, Events: ing, BaseURL: cfg.BaseURL,
			Lease: lease},
		Auth:   &auth.Authenticator{Store: st, Clock: cfg.Clock, Log: cfg.Log},
		Log:    cfg.Log,
		Clock:  cfg.Clock,
		Worker: worker,
		Stream: hub,
		People: &people.Service{Store: st, Clock: cfg.Clock, BaseURL: cfg.BaseURL, Log: cfg.Log,
			PasswordIterations: cfg.PasswordIterations},
		BaseURL:             cfg.BaseURL,
		AllowPrivateTargets: cfg.AllowPrivateTargets,
	}
	if mailer != nil {
		api.People.Mailer = mailer
	}
	pruner := &retention.Pruner{Store: st, Clock: cfg.RetentionClock, Log: cfg.Log, Events: cfg.RetainEvents,
		Deliveries: cfg.RetainDeliveries, Interval: cfg.PruneInterval}
	// Metrics: hooks into ingest, the worker and the HTTP layer; GET /metrics.
	met := metrics.New(metrics.Options{Queue: st, Clock: cfg.DeliveryClock, Log: cfg.Log})
	worker.Observe, ing.Recorded = met.DeliveryAttempted, met.EventRecorded
	api.Metrics, api.MetricsToken, api.ObserveHTTP = met.Handler(), cfg.MetricsToken, met.HTTPRequest
	apiHandler, apiInProcess := api.Handlers()
	console := &web.Server{Store: st, API: apiInProcess, Clock: cfg.Clock, Log: cfg.Log,
		Secure: strings.HasPrefix(cfg.BaseURL, "https://"), ObserveHTTP: met.HTTPRequest, TrustedOrigins: origin(cfg.BaseURL),
		Setup: api.People, BaseURL: configuredURL,
		Live: func(w http.ResponseWriter, r *http.Request, orgID string) error {
			return hub.Serve(w, r, orgID, stream.LastEventID(r), stream.Filter{})
		}}
	a := &App{cfg: cfg, Store: st, Worker: worker, Pruner: pruner, Stream: hub, InProcessAPI: apiInProcess, ln: ln, lock: lock, srv: &http.Server{
		Handler:           console.Mount(apiHandler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}}
	// Shutdown waits for active requests; streams never finish by themselves.
	a.srv.RegisterOnShutdown(hub.Close)
	// Before serving, so it never races an org being made meanwhile.
	a.logSetupLinks(ctx) // setup.go
	return a, nil
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is the server's base URL.
func (a *App) URL() string { return "http://" + a.Addr() }

// Serve answers requests until ctx ends, then drains in-flight requests and
// closes the store. It returns nil after a clean shutdown.
func (a *App) Serve(ctx context.Context) error {
	a.cfg.Log.Info("shiplog listening", "addr", a.Addr(), "db", a.Store.Driver(), "base_url", a.cfg.BaseURL)
	a.Worker.Start()
	a.Pruner.Start()
	lctx, stopListen := context.WithCancel(ctx)
	defer stopListen()
	if a.Store.Driver() == "postgres" {
		// Other replicas announce deliveries they release; claim them now
		// rather than at the next poll.
		go postgres.Listen(lctx, a.cfg.DB, a.cfg.Log, a.Worker.Wake)
	}
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	shutErr := a.srv.Shutdown(sctx)
	a.Worker.Stop()
	a.Pruner.Stop()
	closeErr := a.Store.Close()
	if a.lock != nil {
		a.lock.Close()
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	a.cfg.Log.Info("shiplog stopped")
	return errors.Join(serveErr, shutErr, closeErr)
}

// lockServer takes the SQLite server lock (nil on PostgreSQL). When no
// other server is running on the database, the deliveries leased in it
// were leased by processes that are gone: they are released at once, so
// the poller sends them now rather than when their leases expire. On
// PostgreSQL replicas share the database and a lease is the only word on
// who holds a delivery, so there it is left to expire.
func lockServer(ctx context.Context, cfg Config, st store.Store) (*sqlite.ServerLock, error) {
	if !strings.HasPrefix(cfg.DB, "sqlite:") {
		return nil, nil
	}
	path, err := sqlite.PathFromURL(cfg.DB)
	if err != nil {
		return nil, err
	}
	n := 0
	lock, _, err := sqlite.LockServer(path, func() error {
		return st.Write(ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			n, err = tx.DeliveryReleaseAll(ctx)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("server lock: %w", err)
	}
	if n > 0 {
		cfg.Log.Info("took over deliveries leased by a process that is gone", "count", n)
	}
	return lock, nil
}

// disabledNotice emails an org's owners that a channel was disabled.
func disabledNotice(st store.Store, mailer *email.Sender, cfg Config) func(context.Context, string, *shiplog.Channel, string) {
	return func(ctx context.Context, orgID string, c *shiplog.Channel, reason string) {
		if mailer == nil {
			return
		}
		people, err := delivery.Audience(ctx, st, orgID)
		owners := people.Owners
		if err != nil || len(owners) == 0 {
			return
		}
		link := cfg.BaseURL + "/notification-channels/" + c.ID
		msg := email.Message{
			Subject: fmt.Sprintf("shiplog disabled the notification channel %q", c.Name),
			Text: fmt.Sprintf("shiplog stopped sending to the %s channel %q.\n\nReason: %s\n\nFix the destination, then switch the channel back on: %s\n",
				c.Kind, c.Name, reason, link),
		}
		msg.HTML = "<p>" + strings.ReplaceAll(html.EscapeString(msg.Text), "\n", "<br>") + "</p>"
		if err := mailer.Send(ctx, msg, owners); err != nil {
			cfg.Log.WarnContext(ctx, "email channel-disabled notice", "channel_id", c.ID, "err", err)
		}
	}
}

// Run is Start then Serve.
func Run(ctx context.Context, cfg Config) error {
	a, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}

// origin is the base URL's scheme://host[:port], the console's own origin
// behind a proxy that rewrites Host (none when the URL does not parse).
func origin(base string) []string {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	return []string{u.Scheme + "://" + u.Host}
}
