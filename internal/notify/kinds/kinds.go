// Package kinds registers the channel kinds shiplog ships: the one list a
// new kind is added to (one line), imported where the app is wired and by
// tests that need kinds.
package kinds

import (
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/discord"
	"github.com/shiplog/shiplog/internal/notify/email"
	"github.com/shiplog/shiplog/internal/notify/slack"
	"github.com/shiplog/shiplog/internal/notify/teams"
	"github.com/shiplog/shiplog/internal/notify/webhook"
)

func init() {
	notify.Register(slack.Kind{})
	notify.Register(email.Kind{})
	notify.Register(webhook.Kind{})
	notify.Register(teams.Kind{})
	notify.Register(discord.Kind{})
}
