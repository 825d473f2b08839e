// Package app wires configuration, the store, services and the HTTP server
// into one App that main and the end-to-end tests both run.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/httpapi"
	"github.com/shiplog/shiplog/internal/ingest"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/postgres"
	"github.com/shiplog/shiplog/internal/store/sqlite"
)

// Config is everything serve needs; the CLI fills it from flags, env and defaults.
type Config struct {
	Addr string // host:port; port 0 picks a free one
	DB   string // sqlite://path or postgres://…
	Log  *slog.Logger
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration
	Clock           shiplog.Clock
}

// OpenStore opens the database a URL names, running its migrations.
func OpenStore(ctx context.Context, url string, log *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path, err := sqlite.PathFromURL(url)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path, log)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url, log)
	}
	return nil, fmt.Errorf("unsupported database URL %q: use sqlite://PATH or postgres://USER@HOST/DB", redact(url))
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

// App is a running shiplog server.
type App struct {
	cfg   Config
	Store store.Store
	ln    net.Listener
	srv   *http.Server
}

// Start opens the store and starts listening; Serve runs the server.
func Start(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = shiplog.SystemClock{}
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	st, err := OpenStore(ctx, cfg.DB, cfg.Log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		st.Close()
		return nil, err
	}
	api := &httpapi.Server{
		Store:  st,
		Ingest: &ingest.Service{Store: st, Clock: cfg.Clock},
		Auth:   &auth.Authenticator{Store: st, Clock: cfg.Clock, Log: cfg.Log},
		Log:    cfg.Log,
		Clock:  cfg.Clock,
	}
	a := &App{cfg: cfg, Store: st, ln: ln, srv: &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}}
	return a, nil
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is the server's base URL.
func (a *App) URL() string { return "http://" + a.Addr() }

// Serve answers requests until ctx ends, then drains in-flight requests and
// closes the store. It returns nil after a clean shutdown.
func (a *App) Serve(ctx context.Context) error {
	a.cfg.Log.Info("shiplog listening", "addr", a.Addr(), "db", a.Store.Driver())
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
	closeErr := a.Store.Close()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	a.cfg.Log.Info("shiplog stopped")
	return errors.Join(serveErr, shutErr, closeErr)
}

// Run is Start then Serve.
func Run(ctx context.Context, cfg Config) error {
	a, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}
