package cli

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/store"
)

// First-run setup links (internal/people/setup.go): org create prints one
// for the first owner, user create one for a person without a password,
// and org setup-link makes a new first-owner link when the printed one
// was lost.

// linkFlag is the server's public URL, which links start with.
type linkFlag struct {
	BaseURL string `name:"base-url" env:"SHIPLOG_BASE_URL" help:"The server's public URL, for the setup link (default http://SHIPLOG_ADDR, else http://127.0.0.1:8080)."`
}

// url is what serve uses for its links with the same environment.
func (f linkFlag) url() string {
	return cmp.Or(f.BaseURL, "http://"+cmp.Or(os.Getenv("SHIPLOG_ADDR"), "127.0.0.1:8080"))
}

func (f linkFlag) people(st store.Store) *people.Service {
	return &people.Service{Store: st, Clock: shiplog.SystemClock{}, BaseURL: f.url()}
}

// printFirstOwnerLink prints org's first-owner setup link, or why there is none.
func printFirstOwnerLink(env *Env, svc *people.Service, org *shiplog.Org) error {
	l, err := svc.FirstOwnerLink(env.Ctx, org)
	if errors.Is(err, people.ErrNotFirstRun) {
		fmt.Fprintf(env.Stdout, "%s has an owner or admin who can sign in; no setup link is needed (see 'shiplog user reset-link').\n", org.Name)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Open this link in a browser to set up the first owner (name, email and password). It works once, until %s;\n"+
		"'shiplog serve' logs a new one at each start until someone has:\n%s\n", l.ExpiresAt.Format(time.RFC3339), l.URL)
	return nil
}

type orgSetupLinkCmd struct {
	orgFlag
	linkFlag
	dbFlag
}

func (c *orgSetupLinkCmd) Run(env *Env) error {
	return withOrg(env, c.DB, c.Org, func(st store.Store, org *shiplog.Org) error {
		return printFirstOwnerLink(env, c.people(st), org)
	})
}
