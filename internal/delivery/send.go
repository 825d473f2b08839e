package delivery

import (
	"context"
	"slices"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/people"
)

// peopleReader is what Audience reads.
type peopleReader interface {
	OrgOwnerEmails(ctx context.Context, orgID string) ([]string, error)
	UserList(ctx context.Context, orgID string) ([]*shiplog.User, error)
}

// Audience reads who the recipient words stand for in orgID now: active
// people only, so a deactivated or deleted person gets nothing.
func Audience(ctx context.Context, r peopleReader, orgID string) (notify.People, error) {
	owners, err := r.OrgOwnerEmails(ctx, orgID)
	if err != nil {
		return notify.People{}, err
	}
	users, err := r.UserList(ctx, orgID)
	if err != nil {
		return notify.People{}, err
	}
	p := notify.People{Owners: owners}
	for _, u := range users {
		// A first owner nobody has set up yet has a stand-in address
		// (people.Placeholder) that no mail reaches.
		if !u.Active() || u.Email == "" || people.Placeholder(u.Email) {
			continue
		}
		p.Members = append(p.Members, u.Email)
		if slices.ContainsFunc(u.Roles, func(r string) bool { return r == shiplog.RoleOwner || r == shiplog.RoleAdmin }) {
			p.Owners = append(p.Owners, u.Email)
		}
	}
	return p, nil
}
