// Package cli is the shiplog command line: one typed struct per command,
// defaults then SHIPLOG_* environment then flags (kong resolves that order).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/store"
)

// Version is set at build time with -ldflags "-X …/cli.Version=…".
var Version = "dev"

// Env is what commands get from the process.
type Env struct {
	Ctx    context.Context
	Stdin  io.Reader // nil: os.Stdin
	Stdout io.Writer
	Stderr io.Writer
	// Globals are the root's flags the CI commands read (nil: none given).
	Globals *clientGlobals
}

type dbFlag struct {
	DB string `name:"db" env:"SHIPLOG_DB" default:"sqlite://./shiplog.db" help:"Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB."`
}

type logFlags struct {
	LogFormat string `name:"log-format" env:"SHIPLOG_LOG_FORMAT" enum:"text,json" default:"text" help:"Log format: text or json."`
	LogLevel  string `name:"log-level" env:"SHIPLOG_LOG_LEVEL" enum:"debug,info,warn,error" default:"info" help:"Minimum log level."`
}

func (l logFlags) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(l.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if l.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

type serveCmd struct {
	Addr string `name:"addr" env:"SHIPLOG_ADDR" default:"127.0.0.1:8080" help:"Address to listen on (HOST:PORT; port 0 picks a free port)."`
	dbFlag
	BaseURL             string        `name:"base-url" env:"SHIPLOG_BASE_URL" help:"Public URL of this server, for links in notifications (default http://ADDR)."`
	SecretKey           string        `name:"secret-key" env:"SHIPLOG_SECRET_KEY" help:"Key that encrypts channel secrets at rest: 32 bytes, base64. Default for SQLite: a key file beside the database. Required for PostgreSQL."`
	SMTPURL             string        `name:"smtp-url" env:"SHIPLOG_SMTP_URL" help:"SMTP relay for email notifications: smtp://user:pass@host:port (STARTTLS when offered) or smtps://…"`
	MailFrom            string        `name:"mail-from" env:"SHIPLOG_MAIL_FROM" default:"shiplog <shiplog@localhost>" help:"From address of notification emails."`
	AllowPrivateTargets bool          `name:"allow-private-targets" env:"SHIPLOG_ALLOW_PRIVATE_TARGETS" help:"Let webhook and Slack URLs reach loopback, private and link-local addresses (internal receivers, tests)."`
	DeliveryLease       time.Duration `name:"delivery-lease" env:"SHIPLOG_DELIVERY_LEASE" default:"30s" help:"How long a delivery stays with the process that took it; after that any replica takes it over (the delay after a crash)."`
	retentionFlags
	MetricsToken string `name:"metrics-token" env:"SHIPLOG_METRICS_TOKEN" help:"Bearer token GET /metrics requires (default: none, /metrics is open; its numbers name no org)."`
	logFlags
}

func (c *serveCmd) Run(env *Env) error {
	if c.SMTPURL != "" && c.MailFrom == "" {
		return errors.New("--smtp-url needs --mail-from")
	}
	if err := c.retentionFlags.check(); err != nil {
		return err
	}
	tuneGC()
	return app.Run(env.Ctx, app.Config{Addr: c.Addr, DB: c.DB, Log: c.logger(env.Stderr), BaseURL: c.BaseURL,
		SecretKey: c.SecretKey, SMTPURL: c.SMTPURL, MailFrom: c.MailFrom, AllowPrivateTargets: c.AllowPrivateTargets,
		DeliveryLease: c.DeliveryLease, RetainEvents: time.Duration(c.RetainEvents),
		RetainDeliveries: time.Duration(c.RetainDeliveries), PruneInterval: c.PruneInterval, MetricsToken: c.MetricsToken})
}

type migrateCmd struct {
	dbFlag
}

func (c *migrateCmd) Run(env *Env) error {
	st, err := app.OpenStore(env.Ctx, c.DB, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(env.Stdout, "database is up to date (%s)\n", st.Driver())
	return nil
}

type orgCreateCmd struct {
	Name        string   `arg:"" help:"Organisation name: lowercase letters, digits and hyphens, 1-63 characters."`
	OwnerEmails []string `name:"owner-email" help:"An owner's email address (repeatable): they get the default deployment result e-mails; the first is the first owner's sign-in."`
	linkFlag
	dbFlag
}

func checkEmails(emails []string) error {
	for _, e := range emails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			return fmt.Errorf("invalid email address %q", e)
		}
	}
	return nil
}

func checkSlug(name string) error {
	if !shiplog.ValidSlug(name) {
		return fmt.Errorf("invalid organisation name %q: use lowercase letters, digits and hyphens, 1 to 63 characters (for example: acme)", name)
	}
	return nil
}

func (c *orgCreateCmd) Run(env *Env) error {
	if err := checkSlug(c.Name); err != nil {
		return err
	}
	if err := checkEmails(c.OwnerEmails); err != nil {
		return err
	}
	st, err := app.OpenStore(env.Ctx, c.DB, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	var key string
	var org *shiplog.Org
	err = st.Write(env.Ctx, func(ctx context.Context, tx store.Tx) error {
		now := shiplog.SystemClock{}.Now()
		var err error
		org, err = tx.OrgCreate(ctx, c.Name, now)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("organisation %q already exists; use 'shiplog apikey create --org %s' for another key", c.Name, c.Name)
		}
		if err != nil {
			return err
		}
		if err := tx.OrgSetOwnerEmails(ctx, org.ID, c.OwnerEmails); err != nil {
			return err
		}
		if err := tx.ChannelCreate(ctx, notify.DefaultChannel(org.ID, now)); err != nil {
			return err
		}
		_, key, err = auth.CreateKey(ctx, tx, org, "default", now)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Created organisation %s.\n", c.Name)
	if err := printFirstOwnerLink(env, c.people(st), org); err != nil {
		return err
	}
	// The key stays alone on the last line: scripts take it from there.
	fmt.Fprintf(env.Stdout, "Its API key is shown once; store it now:\n%s\n", key)
	return nil
}

type orgFlag struct {
	Org string `name:"org" required:"" help:"Organisation name."`
}

// withOrg opens the store and finds the org.
func withOrg(env *Env, dbURL, name string, fn func(st store.Store, org *shiplog.Org) error) error {
	if err := checkSlug(name); err != nil {
		return err
	}
	st, err := app.OpenStore(env.Ctx, dbURL, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	org, err := st.OrgGetByName(env.Ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no organisation named %q; create it with 'shiplog org create %s'", name, name)
	}
	if err != nil {
		return err
	}
	return fn(st, org)
}

type apikeyCreateCmd struct {
	orgFlag
	Name string `name:"name" default:"" help:"A name to tell the key apart (e.g. the pipeline that uses it)."`
	dbFlag
}

func (c *apikeyCreateCmd) Run(env *Env) error {
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		var key string
		var k *shiplog.APIKey
		err := st.Write(env.Ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			k, key, err = auth.CreateKey(ctx, tx, org, c.Name, shiplog.SystemClock{}.Now())
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Created API key %s for %s. It is shown once; store it now:\n%s\n", k.KeyID, org.Name, key)
		return nil
	})
}

type apikeyListCmd struct {
	orgFlag
	dbFlag
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func (c *apikeyListCmd) Run(env *Env) error {
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		keys, err := st.APIKeyList(env.Ctx, org.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tNAME\tENDS WITH\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t…%s\t%s\t%s\t%s\n", k.KeyID, k.Name, k.Hint, k.CreatedAt.Format(time.RFC3339),
				fmtTime(k.LastUsedAt), fmtTime(k.RevokedAt))
		}
		return tw.Flush()
	})
}

type apikeyRevokeCmd struct {
	orgFlag
	KeyID string `arg:"" name:"key-id" help:"The key's id as 'apikey list' shows it (k1, k2, …)."`
	dbFlag
}

func (c *apikeyRevokeCmd) Run(env *Env) error {
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		err := st.Write(env.Ctx, func(ctx context.Context, tx store.Tx) error {
			return tx.APIKeyRevoke(ctx, org.ID, c.KeyID, shiplog.SystemClock{}.Now())
		})
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("organisation %s has no API key %q (see 'shiplog apikey list --org %s')", org.Name, c.KeyID, org.Name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Revoked API key %s of %s.\n", c.KeyID, org.Name)
		return nil
	})
}

type orgOwnersCmd struct {
	orgFlag
	Emails []string `name:"email" help:"An owner's email address (repeatable); the list replaces the current one. None: print the owners."`
	dbFlag
}

func (c *orgOwnersCmd) Run(env *Env) error {
	if err := checkEmails(c.Emails); err != nil {
		return err
	}
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		if len(c.Emails) > 0 {
			if err := st.Write(env.Ctx, func(ctx context.Context, tx store.Tx) error {
				return tx.OrgSetOwnerEmails(ctx, org.ID, c.Emails)
			}); err != nil {
				return err
			}
		}
		owners, err := st.OrgOwnerEmails(env.Ctx, org.ID)
		if err != nil {
			return err
		}
		for _, o := range owners {
			fmt.Fprintln(env.Stdout, o)
		}
		return nil
	})
}

type versionCmd struct{}

func (versionCmd) Run(env *Env) error {
	fmt.Fprintf(env.Stdout, "shiplog %s\n", Version)
	return nil
}

type root struct {
	clientGlobals
	Serve   serveCmd   `cmd:"" help:"Run the server (API and workers)."`
	Migrate migrateCmd `cmd:"" help:"Apply database migrations and exit (serve also does this on start)."`
	Backup  backupCmd  `cmd:"" help:"Write a consistent copy of the SQLite database (and its secret key) while the server runs."`
	Org     struct {
		Create    orgCreateCmd    `cmd:"" help:"Create an organisation: print a setup link for its first owner, and its first API key on the last line."`
		SetupLink orgSetupLinkCmd `cmd:"" name:"setup-link" help:"Print a new one-time setup link for the first owner of an organisation nobody can sign in to yet."`
		Owners    orgOwnersCmd    `cmd:"" help:"Show or set the owners' email addresses (recipients of 'owners' email channels)."`
	} `cmd:"" help:"Manage organisations."`
	Apikey struct {
		Create apikeyCreateCmd `cmd:"" help:"Create another API key and print it."`
		List   apikeyListCmd   `cmd:"" help:"List an organisation's API keys (never their secrets)."`
		Revoke apikeyRevokeCmd `cmd:"" help:"Revoke an API key."`
	} `cmd:"" name:"apikey" help:"Manage organisation API keys."`
	User struct {
		Create     userCreateCmd     `cmd:"" help:"Add a person to an organisation with roles; without --password-stdin, print a one-time link where they set their password."`
		List       userListCmd       `cmd:"" help:"List an organisation's people, their roles and whether they are active."`
		Deactivate userDeactivateCmd `cmd:"" help:"Deactivate a person: their sessions end and their tokens are refused until reactivated."`
		Reactivate userReactivateCmd `cmd:"" help:"Reactivate a deactivated person."`
		Delete     userDeleteCmd     `cmd:"" help:"Delete a person: tokens revoked, sessions ended; their name stays on what they did."`
		ResetLink  userResetLinkCmd  `cmd:"" name:"reset-link" help:"Make a one-time password reset link: printed on the last line, or emailed with --smtp-url."`
	} `cmd:"" help:"Manage people."`
	Token struct {
		Create tokenCreateCmd `cmd:"" help:"Create a personal access token (pat_…) and print it on the last line."`
		List   tokenListCmd   `cmd:"" help:"List personal access tokens (never their secrets)."`
		Revoke tokenRevokeCmd `cmd:"" help:"Revoke a personal access token."`
	} `cmd:"" help:"Manage personal access tokens."`
	Version versionCmd `cmd:"" help:"Print the version."`

	Track     trackCmd     `cmd:"" help:"Record a deployment or build event from a CI pipeline."`
	Preflight preflightCmd `cmd:"" help:"Ask whether a deployment would be allowed now, without recording it."`
	Run       runCmd       `cmd:"" help:"Record a deployment around a command: started, then completed, failed or aborted."`
}

// Run runs the command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cli root
	exitCode := -1
	parser, err := kong.New(&cli,
		kong.Name("shiplog"),
		kong.Description("Records every build and deployment your pipelines report, and tells people about them."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exitCode = code }),
		kong.UsageOnError(),
	)
	if err != nil {
		fmt.Fprintf(stderr, "shiplog: %v\n", err)
		return 1
	}
	kctx, err := parser.Parse(args)
	if exitCode >= 0 { // --help
		return exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "shiplog: %v\n", err)
		return 1
	}
	if err := kctx.Run(&Env{Ctx: ctx, Stdout: stdout, Stderr: stderr, Globals: &cli.clientGlobals}); err != nil {
		if code, ok := requestedExit(err); ok { // the command has reported already
			return code
		}
		fmt.Fprintf(stderr, "shiplog: %s\n", strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}

// Main is what cmd/shiplog calls.
func Main(ctx context.Context) int {
	unsetEmpty("SHIPLOG_")
	return Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// unsetEmpty removes the empty variables with prefix: an empty SHIPLOG_*
// variable (a CI secret that is not defined) counts as unset, so it neither
// hides a VERSIONER_* one nor fails a flag's parsing.
func unsetEmpty(prefix string) {
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, prefix) && v == "" {
			os.Unsetenv(k)
		}
	}
}
