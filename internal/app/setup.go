package app

import (
	"context"
	"errors"

	"github.com/shiplog/shiplog/internal/people"
)

// logSetupLinks logs a one-time setup link for the first owner of every
// org nobody can sign in to yet, so whoever reads the server's log (a
// container's, say) can finish setting up in the browser. Each start
// adds a link; the earlier ones keep working until one is used.
func (a *App) logSetupLinks(ctx context.Context) {
	orgs, err := a.Store.OrgList(ctx)
	if err != nil {
		a.cfg.Log.WarnContext(ctx, "first-run setup: list organisations", "err", err)
		return
	}
	svc := &people.Service{Store: a.Store, Clock: a.cfg.Clock, BaseURL: a.cfg.BaseURL}
	for _, org := range orgs {
		l, err := svc.FirstOwnerLink(ctx, org)
		if errors.Is(err, people.ErrNotFirstRun) {
			continue
		}
		if err != nil {
			a.cfg.Log.WarnContext(ctx, "first-run setup link", "org", org.Name, "err", err)
			continue
		}
		a.cfg.Log.InfoContext(ctx, "organisation "+org.Name+" has nobody who can sign in: open this one-time link to set up its first owner",
			"org", org.Name, "setup_link", l.URL, "expires_at", l.ExpiresAt)
	}
}
