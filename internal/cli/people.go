package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/client"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/notify/email"
	"github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/store"
)

// People's lifecycle on the server's database, for whoever runs the
// server: the same rules as the API (internal/people), without a person
// asking, so "not yourself" does not apply but the last active admin stays.

type emailFlag struct {
	Email string `name:"email" required:"" help:"The person's email address."`
}

// withPerson opens the store and finds the org's (not deleted) person.
func withPerson(env *Env, dbURL, orgName, addr string, fn func(st store.Store, org *shiplog.Org, u *shiplog.User) error) error {
	return withOrg(env, dbURL, orgName, func(st store.Store, org *shiplog.Org) error {
		u, err := st.UserByEmail(env.Ctx, org.ID, addr)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s has no user %s (see 'shiplog user list --org %s')", org.Name, addr, org.Name)
		}
		if err != nil {
			return err
		}
		return fn(st, org, u)
	})
}

// cliError shows a domain refusal as its message.
func cliError(err error) error {
	var e *shiplog.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}

func userState(u *shiplog.User) string {
	if u.DeactivatedAt != nil {
		return "deactivated " + u.DeactivatedAt.Format(time.RFC3339)
	}
	return "active"
}

type userListCmd struct {
	orgFlag
	dbFlag
}

func (c *userListCmd) Run(env *Env) error {
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		us, err := st.UserList(env.Ctx, org.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tNAME\tROLES\tSTATE")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Email, u.Name, strings.Join(u.Roles, ","), userState(u))
		}
		return tw.Flush()
	})
}

type userSetActiveCmd struct {
	orgFlag
	emailFlag
	dbFlag
	active bool
}

func (c *userSetActiveCmd) Run(env *Env) error {
	return withPerson(env, c.DB, c.Org, c.Email, func(st store.Store, org *shiplog.Org, u *shiplog.User) error {
		svc := &people.Service{Store: st, Clock: shiplog.SystemClock{}}
		if _, err := svc.SetActive(env.Ctx, nil, org.ID, u.ID, c.active); err != nil {
			return cliError(err)
		}
		if c.active {
			fmt.Fprintf(env.Stdout, "Reactivated %s in %s: their tokens that were not revoked work again.\n", u.Email, org.Name)
		} else {
			fmt.Fprintf(env.Stdout, "Deactivated %s in %s: their sessions ended and their tokens are refused.\n", u.Email, org.Name)
		}
		return nil
	})
}

type userDeactivateCmd struct{ userSetActiveCmd }

func (c *userDeactivateCmd) Run(env *Env) error { c.active = false; return c.userSetActiveCmd.Run(env) }

type userReactivateCmd struct{ userSetActiveCmd }

func (c *userReactivateCmd) Run(env *Env) error { c.active = true; return c.userSetActiveCmd.Run(env) }

type userDeleteCmd struct {
	orgFlag
	emailFlag
	dbFlag
}

func (c *userDeleteCmd) Run(env *Env) error {
	return withPerson(env, c.DB, c.Org, c.Email, func(st store.Store, org *shiplog.Org, u *shiplog.User) error {
		svc := &people.Service{Store: st, Clock: shiplog.SystemClock{}}
		if _, err := svc.Delete(env.Ctx, nil, org.ID, u.ID); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(env.Stdout, "Deleted %s from %s: tokens revoked, sessions ended; their name stays on what they did.\n", u.Email, org.Name)
		return nil
	})
}

type userResetLinkCmd struct {
	orgFlag
	emailFlag
	BaseURL  string `name:"base-url" env:"SHIPLOG_BASE_URL" default:"http://127.0.0.1:8080" help:"The server's public URL, for the link."`
	SMTPURL  string `name:"smtp-url" env:"SHIPLOG_SMTP_URL" help:"Email the link through this relay instead of printing it."`
	MailFrom string `name:"mail-from" env:"SHIPLOG_MAIL_FROM" default:"shiplog <shiplog@localhost>" help:"Sender of the email."`
	dbFlag
}

func (c *userResetLinkCmd) Run(env *Env) error {
	svc := &people.Service{Clock: shiplog.SystemClock{}, BaseURL: c.BaseURL}
	if c.SMTPURL != "" {
		mailer, err := email.NewSender(email.Config{URL: c.SMTPURL, From: c.MailFrom})
		if err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
		svc.Mailer = mailer
	}
	return withPerson(env, c.DB, c.Org, c.Email, func(st store.Store, org *shiplog.Org, u *shiplog.User) error {
		svc.Store = st
		l, err := svc.IssueResetLink(env.Ctx, org.ID, u.ID, "cli")
		if err != nil {
			return cliError(err)
		}
		if l.Emailed {
			fmt.Fprintf(env.Stdout, "Emailed a password reset link to %s. It works once, until %s.\n", u.Email, l.ExpiresAt.Format(time.RFC3339))
			return nil
		}
		fmt.Fprintf(env.Stdout, "Password reset link for %s. It works once, until %s; pass it on privately:\n%s\n", u.Email,
			l.ExpiresAt.Format(time.RFC3339), l.URL)
		return nil
	})
}

// tokenServer is how token list|revoke reach a server instead of the
// database: as the person whose personal token is given, for their own
// tokens (or, for owners and admins, the org's). The server is the root's
// --api-url (or SHIPLOG_URL, or the configuration file), as for the CI
// commands.
type tokenServer struct {
	Token string `name:"token" env:"SHIPLOG_TOKEN" placeholder:"PAT" help:"Without --org: your personal access token (pat_…), else SHIPLOG_API_KEY; prefer the environment variable."`
}

func (f tokenServer) connect(env *Env) (*client.Client, error) {
	st := loadSettings(env.Globals, os.Getenv)
	u, tok := st.apiURL(), cmp.Or(f.Token, st.str(st.g.APIKey, "api_key", "SHIPLOG_API_KEY"))
	if u == "" || tok == "" {
		return nil, errors.New("pass --org (the server's database) or set SHIPLOG_URL (or --api-url) and SHIPLOG_TOKEN (your personal access token)")
	}
	return client.New(u, tok, client.WithUserAgent("shiplog-cli/"+Version))
}

func printTokens(env *Env, ts []*shiplog.Token) error {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOKEN ID\tUSER\tNAME\tCREATED\tLAST USED\tREVOKED")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.TokenID, t.UserEmail, t.Name, t.CreatedAt.Format(time.RFC3339),
			fmtTime(t.LastUsedAt), fmtTime(t.RevokedAt))
	}
	return tw.Flush()
}

type tokenListCmd struct {
	Org   string `name:"org" help:"Organisation name: read the server's database (--db) directly."`
	Email string `name:"email" help:"Only this person's tokens (with --org)."`
	tokenServer
	dbFlag
}

func (c *tokenListCmd) Run(env *Env) error {
	if c.Org == "" {
		cl, err := c.connect(env)
		if err != nil {
			return err
		}
		list, err := cl.Tokens(env.Ctx, "")
		if err != nil {
			return err
		}
		ts := make([]*shiplog.Token, 0, len(list.Items))
		for _, t := range list.Items {
			ts = append(ts, t.Token)
		}
		return printTokens(env, ts)
	}
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		userID := ""
		if c.Email != "" {
			u, err := st.UserByEmail(env.Ctx, org.ID, c.Email)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s has no user %s", org.Name, c.Email)
			}
			if err != nil {
				return err
			}
			userID = u.ID
		}
		ts, err := st.TokenList(env.Ctx, org.ID, userID)
		if err != nil {
			return err
		}
		return printTokens(env, ts)
	})
}

type tokenRevokeCmd struct {
	Org string `name:"org" help:"Organisation name: revoke in the server's database (--db) directly."`
	Ref string `arg:"" name:"token-id" help:"The token's id as 'token list' shows it, or the token itself (pat_…)."`
	tokenServer
	dbFlag
}

func (c *tokenRevokeCmd) Run(env *Env) error {
	ref := strings.TrimSpace(c.Ref)
	if id, _, ok := auth.ParseToken(ref); ok {
		ref = id
	}
	if c.Org == "" {
		cl, err := c.connect(env)
		if err != nil {
			return err
		}
		t, err := cl.RevokeToken(env.Ctx, ref)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Revoked token %s of %s. Requests with it are refused from now on.\n", t.TokenID, t.UserEmail)
		return nil
	}
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		var t *shiplog.Token
		err := st.Write(env.Ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			if t, err = tx.TokenGet(ctx, org.ID, ref); err != nil {
				return err
			}
			return tx.TokenRevoke(ctx, org.ID, t.ID, shiplog.SystemClock{}.Now())
		})
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("organisation %s has no personal access token %q (see 'shiplog token list --org %s')", org.Name, c.Ref, org.Name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Revoked token %s of %s (%s). Requests with it are refused from now on.\n", t.TokenID, t.UserEmail, org.Name)
		return nil
	})
}
