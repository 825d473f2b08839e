package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/httpapi"
	"github.com/shiplog/shiplog/internal/store"
)

type userCreateCmd struct {
	orgFlag
	Email         string   `name:"email" required:"" help:"The person's email address (their sign-in)."`
	Name          string   `name:"name" required:"" help:"Display name, shown on approvals."`
	Roles         []string `name:"role" required:"" help:"A role (repeatable): owner, admin, release_manager, product, qa, sre, security, developer, compliance, viewer, billing."`
	PasswordStdin bool     `name:"password-stdin" help:"Read a console password from standard input (else a setup link is printed)."`
	linkFlag
	dbFlag
}

func (c *userCreateCmd) Run(env *Env) error {
	if err := checkEmails([]string{c.Email}); err != nil {
		return err
	}
	if err := httpapi.CheckRoles(c.Roles); err != nil {
		return errors.New(shiplog.ErrorMessage(err))
	}
	var hash string
	if c.PasswordStdin {
		pw, err := readPassword(env.Stdin)
		if err != nil {
			return err
		}
		if hash, err = auth.HashPassword(pw); err != nil {
			return err
		}
	}
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		u := &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: strings.ToLower(c.Email), Name: c.Name, Roles: c.Roles,
			CreatedAt: shiplog.SystemClock{}.Now()}
		err := st.Write(env.Ctx, func(ctx context.Context, tx store.Tx) error { return tx.UserCreate(ctx, u, hash) })
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%s already has a user %s", org.Name, u.Email)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Created user %s (%s) in %s with roles %s.\n", u.Email, u.Name, org.Name, strings.Join(u.Roles, ", "))
		if hash != "" {
			return nil
		}
		// Without a password nobody signs in: hand over a link to set one.
		l, err := c.people(st).IssueSetupLink(env.Ctx, org.ID, u.ID)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(env.Stdout, "They have no password yet. This link lets them set one; it works once, until %s; pass it on privately:\n%s\n",
			l.ExpiresAt.Format(time.RFC3339), l.URL)
		return nil
	})
}

// readPassword reads one line; 12 characters at least, as the API asks.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		r = os.Stdin
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 12 {
		return "", errors.New("the password must be at least 12 characters")
	}
	return pw, nil
}

type tokenCreateCmd struct {
	orgFlag
	Email string `name:"email" required:"" help:"Whose token it is."`
	Name  string `name:"name" default:"" help:"A name to tell the token apart."`
	dbFlag
}

func (c *tokenCreateCmd) Run(env *Env) error {
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		u, err := st.UserByEmail(env.Ctx, org.ID, c.Email)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s has no user %s; create one with 'shiplog user create'", org.Name, c.Email)
		}
		if err != nil {
			return err
		}
		var tok string
		err = st.Write(env.Ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			tok, err = auth.CreateToken(ctx, tx, u, c.Name, shiplog.SystemClock{}.Now())
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Created a personal access token for %s. It is shown once; store it now:\n%s\n", u.Email, tok)
		return nil
	})
}
