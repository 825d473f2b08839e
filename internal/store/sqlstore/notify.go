package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

var errNoCipher = errors.New("no secret key configured: channel secrets cannot be stored")

func (q *Queries) seal(s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	if q.cipher == nil {
		return nil, errNoCipher
	}
	return q.cipher.Seal([]byte(s))
}

func (q *Queries) open(b []byte) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	if q.cipher == nil {
		return "", errNoCipher
	}
	p, err := q.cipher.Open(b)
	return string(p), err
}

func jsonList[T any](v []T) string {
	if v == nil {
		v = []T{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// strings runs a query returning one text column.
func (q *Queries) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (q *Queries) OrgOwnerEmails(ctx context.Context, orgID string) ([]string, error) {
	return q.strings(ctx, `SELECT email FROM org_owners WHERE org_id = ? ORDER BY email`, orgID)
}

func (q *Queries) OrgSetOwnerEmails(ctx context.Context, orgID string, emails []string) error {
	if _, err := q.exec(ctx, `DELETE FROM org_owners WHERE org_id = ?`, orgID); err != nil {
		return err
	}
	for _, e := range emails {
		if _, err := q.exec(ctx, `INSERT INTO org_owners (org_id, email) VALUES (?, ?) ON CONFLICT DO NOTHING`, orgID, e); err != nil {
			return err
		}
	}
	return nil
}

const channelCols = `c.id, c.org_id, c.kind, c.name, c.description, c.enabled, c.environment_types_filter, c.product_names_filter,
	c.url, c.url_sealed, c.secret_sealed, c.config, c.retry_schedule, c.disabled_reason,
	c.disabled_at, c.failing_since, c.system, c.created_at, c.updated_at`

func (q *Queries) scanChannel(sc interface{ Scan(...any) error }) (*shiplog.Channel, error) {
	var c shiplog.Channel
	var envs, prods, config, sched string
	var urlSealed, secretSealed []byte
	var disabledAt, failingSince sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.OrgID, &c.Kind, &c.Name, &c.Description, &c.Enabled, &envs, &prods, &c.URL, &urlSealed,
		&secretSealed, &config, &sched, &c.DisabledReason, &disabledAt, &failingSince, &c.System, &created, &updated); err != nil {
		return nil, err
	}
	var ms []int64
	for _, u := range []struct {
		s   string
		dst any
	}{{envs, &c.EnvironmentTypesFilter}, {prods, &c.ProductNamesFilter}, {config, &c.Config}, {sched, &ms}} {
		if err := json.Unmarshal([]byte(u.s), u.dst); err != nil {
			return nil, err
		}
	}
	for _, m := range ms {
		c.RetrySchedule = append(c.RetrySchedule, time.Duration(m)*time.Millisecond)
	}
	var err error
	// Rows written before URLs were always sealed keep theirs in url.
	if len(urlSealed) > 0 {
		if c.URL, err = q.open(urlSealed); err != nil {
			return nil, err
		}
	}
	if c.Secret, err = q.open(secretSealed); err != nil {
		return nil, err
	}
	c.DisabledAt, c.FailingSince = timePtr(disabledAt), timePtr(failingSince)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

// withEvents fills each channel's Events from its subscriptions.
func (q *Queries) withEvents(ctx context.Context, orgID string, cs []*shiplog.Channel) ([]*shiplog.Channel, error) {
	if len(cs) == 0 {
		return cs, nil
	}
	byID := map[string]*shiplog.Channel{}
	for _, c := range cs {
		byID[c.ID] = c
		c.Events = []shiplog.EventType{}
	}
	var subs []*shiplog.Subscription
	var err error
	if len(cs) == 1 {
		// One channel (every delivery loads its own): only its rows, or a
		// fan-out to n channels reads n² subscriptions.
		subs, err = q.subscriptions(ctx, `SELECT id, channel_id, event_type, created_at FROM subscriptions WHERE channel_id = ? ORDER BY id`, cs[0].ID)
	} else {
		subs, err = q.SubscriptionList(ctx, orgID)
	}
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		if c := byID[s.ChannelID]; c != nil {
			c.Events = append(c.Events, s.EventType)
		}
	}
	return cs, nil
}

func (q *Queries) channels(ctx context.Context, orgID, where string, args ...any) ([]*shiplog.Channel, error) {
	rows, err := q.query(ctx, `SELECT `+channelCols+` FROM channels c WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Channel
	for rows.Next() {
		c, err := q.scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return q.withEvents(ctx, orgID, out)
}

func (q *Queries) ChannelList(ctx context.Context, orgID string) ([]*shiplog.Channel, error) {
	return q.channels(ctx, orgID, `c.org_id = ? AND c.system = FALSE ORDER BY c.id`, orgID)
}

func (q *Queries) ChannelGet(ctx context.Context, orgID, id string) (*shiplog.Channel, error) {
	cs, err := q.channels(ctx, orgID, `c.org_id = ? AND c.id = ?`, orgID, id)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, store.ErrNotFound
	}
	return cs[0], nil
}

func (q *Queries) ChannelsForEvent(ctx context.Context, orgID string, t shiplog.EventType) ([]*shiplog.Channel, error) {
	cfg, err := q.OrgConfig(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return channelsFor(cfg, t), nil
}

func scheduleMS(d []time.Duration) string {
	ms := make([]int64, len(d))
	for i, v := range d {
		ms[i] = v.Milliseconds()
	}
	return jsonList(ms)
}

// channelSecrets seals the URL (for some kinds it is the credential, and
// for any it says where an org's events go) and the signing secret, and
// encodes the kind's settings.
func (q *Queries) channelSecrets(c *shiplog.Channel) (urlSealed, secretSealed any, config string, err error) {
	if urlSealed, err = q.seal(c.URL); err != nil {
		return
	}
	if secretSealed, err = q.seal(c.Secret); err != nil {
		return
	}
	b, err := json.Marshal(c.Config)
	if c.Config == nil {
		b = []byte("{}")
	}
	return urlSealed, secretSealed, string(b), err
}

func (q *Queries) ChannelCreate(ctx context.Context, c *shiplog.Channel) error {
	urlSealed, secretSealed, config, err := q.channelSecrets(c)
	if err != nil {
		return err
	}
	if _, err := q.exec(ctx, `INSERT INTO channels (id, org_id, kind, name, description, enabled, environment_types_filter,
		product_names_filter, url, url_sealed, secret_sealed, config, retry_schedule, system, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.OrgID, string(c.Kind), c.Name, c.Description, c.Enabled, jsonList(c.EnvironmentTypesFilter),
		jsonList(c.ProductNamesFilter), urlSealed, secretSealed, config,
		scheduleMS(c.RetrySchedule), c.System, micros(c.CreatedAt), micros(c.UpdatedAt)); err != nil {
		return err
	}
	return q.setSubscriptions(ctx, c)
}

func (q *Queries) setSubscriptions(ctx context.Context, c *shiplog.Channel) error {
	if err := q.changed(ctx, c.OrgID); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM subscriptions WHERE channel_id = ?`, c.ID); err != nil {
		return err
	}
	for _, t := range c.Events {
		if err := q.SubscriptionCreate(ctx, &shiplog.Subscription{ID: shiplog.NewID(), ChannelID: c.ID, EventType: t,
			CreatedAt: c.UpdatedAt}, c.OrgID); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

func (q *Queries) ChannelUpdate(ctx context.Context, c *shiplog.Channel) error {
	urlSealed, secretSealed, config, err := q.channelSecrets(c)
	if err != nil {
		return err
	}
	res, err := q.exec(ctx, `UPDATE channels SET name = ?, description = ?, enabled = ?, environment_types_filter = ?,
		product_names_filter = ?, url = '', url_sealed = ?, secret_sealed = ?, config = ?,
		retry_schedule = ?, disabled_reason = ?, disabled_at = ?, failing_since = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`,
		c.Name, c.Description, c.Enabled, jsonList(c.EnvironmentTypesFilter), jsonList(c.ProductNamesFilter),
		urlSealed, secretSealed, config, scheduleMS(c.RetrySchedule), c.DisabledReason,
		nullMicros(c.DisabledAt), nullMicros(c.FailingSince), micros(c.UpdatedAt), c.OrgID, c.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return q.setSubscriptions(ctx, c)
}

func (q *Queries) ChannelDelete(ctx context.Context, orgID, id string) error {
	// Children first: PostgreSQL and SQLite both cascade, but explicit
	// deletes keep the behaviour independent of foreign-key settings.
	for _, stmt := range []string{
		`DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE channel_id = ? AND org_id = ?)`,
		`DELETE FROM deliveries WHERE channel_id = ? AND org_id = ?`,
		`DELETE FROM subscriptions WHERE channel_id = ? AND org_id = ?`,
	} {
		if _, err := q.exec(ctx, stmt, id, orgID); err != nil {
			return err
		}
	}
	res, err := q.exec(ctx, `DELETE FROM channels WHERE id = ? AND org_id = ?`, id, orgID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return q.changed(ctx, orgID)
}

// ChannelSetHealth changes a channel's health, which the delivery worker
// reads from OrgConfig: a new generation. It changes on transitions only
// (failing starts, ends, or disables the channel), not per delivery.
func (q *Queries) ChannelSetHealth(ctx context.Context, p *store.ChannelHealthParams) error {
	var err error
	if p.Disable {
		_, err = q.exec(ctx, `UPDATE channels SET enabled = FALSE, disabled_reason = ?, disabled_at = ?, failing_since = ?, updated_at = ? WHERE id = ?`,
			p.DisabledReason, micros(p.Now), nullMicros(p.FailingSince), micros(p.Now), p.ChannelID)
	} else {
		_, err = q.exec(ctx, `UPDATE channels SET failing_since = ? WHERE id = ?`, nullMicros(p.FailingSince), p.ChannelID)
	}
	if err != nil {
		return err
	}
	var orgID string
	if err := q.row(ctx, `SELECT org_id FROM channels WHERE id = ?`, p.ChannelID).Scan(&orgID); err != nil {
		return q.mapErr(err)
	}
	return q.changed(ctx, orgID)
}

func (q *Queries) SubscriptionCreate(ctx context.Context, s *shiplog.Subscription, orgID string) error {
	_, err := q.exec(ctx, `INSERT INTO subscriptions (id, org_id, channel_id, event_type, created_at) VALUES (?, ?, ?, ?, ?)`,
		s.ID, orgID, s.ChannelID, string(s.EventType), micros(s.CreatedAt))
	if err != nil {
		return err
	}
	return q.changed(ctx, orgID)
}

func (q *Queries) SubscriptionDelete(ctx context.Context, orgID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM subscriptions WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return q.changed(ctx, orgID)
}

func (q *Queries) SubscriptionList(ctx context.Context, orgID string) ([]*shiplog.Subscription, error) {
	return q.subscriptions(ctx, `SELECT id, channel_id, event_type, created_at FROM subscriptions WHERE org_id = ? ORDER BY id`, orgID)
}

func (q *Queries) subscriptions(ctx context.Context, query string, args ...any) ([]*shiplog.Subscription, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Subscription
	for rows.Next() {
		var s shiplog.Subscription
		var created int64
		if err := rows.Scan(&s.ID, &s.ChannelID, &s.EventType, &created); err != nil {
			return nil, err
		}
		s.CreatedAt = fromMicros(created)
		out = append(out, &s)
	}
	return out, rows.Err()
}

const deliveryCols = `id, org_id, channel_id, channel_kind, event_id, event_type, state, attempts, max_attempts, next_attempt_at,
	lease_until, last_error, test, payload, created_at, updated_at, completed_at`

func scanDelivery(sc interface{ Scan(...any) error }) (*shiplog.Delivery, error) {
	var d shiplog.Delivery
	var next, created, updated int64
	var lease, completed sql.NullInt64
	var payload string
	if err := sc.Scan(&d.ID, &d.OrgID, &d.ChannelID, &d.ChannelKind, &d.EventID, &d.EventType, &d.State, &d.Attempts,
		&d.MaxAttempts, &next, &lease, &d.LastError, &d.Test, &payload, &created, &updated, &completed); err != nil {
		return nil, err
	}
	d.Payload = rawJSON(sql.NullString{String: payload, Valid: true})
	d.NextAttempt, d.CreatedAt, d.UpdatedAt = fromMicros(next), fromMicros(created), fromMicros(updated)
	d.LeaseUntil, d.CompletedAt = timePtr(lease), timePtr(completed)
	return &d, nil
}

func (q *Queries) deliveries(ctx context.Context, query string, args ...any) ([]*shiplog.Delivery, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (q *Queries) DeliveryInsert(ctx context.Context, d *shiplog.Delivery) error {
	if q.pending != nil {
		q.pending.deliveries = append(q.pending.deliveries, deliveryArgs(d)) // deferred.go
		return q.pending.err
	}
	return q.insertDeliveries(ctx, [][]any{deliveryArgs(d)})
}

func (q *Queries) DeliveryClaim(ctx context.Context, p *store.DeliveryClaimParams) ([]*shiplog.Delivery, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	perChannel := p.PerChannel
	if perChannel <= 0 {
		perChannel = p.Limit
	}
	exclude, err := json.Marshal(append([]string{}, p.ExcludeChannels...))
	if err != nil {
		return nil, err
	}
	only, err := json.Marshal([]string{p.ChannelID})
	if err != nil {
		return nil, err
	}
	hasOnly := 0
	if p.ChannelID != "" {
		hasOnly = 1
	}
	// The window numbers each channel's due deliveries, oldest first, so a
	// channel with a backlog of thousands takes at most perChannel of the
	// claim. The outer conditions are checked again on the row the UPDATE
	// locks, so two replicas racing for a row cannot both lease it.
	return q.deliveries(ctx, `UPDATE deliveries SET lease_until = ? WHERE id IN (
			SELECT id FROM deliveries WHERE id IN (
				SELECT id FROM (
					SELECT id, next_attempt_at, ROW_NUMBER() OVER (PARTITION BY channel_id ORDER BY next_attempt_at, id) AS rn
					FROM deliveries WHERE state = 'queued' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
					AND (? = 0 OR channel_id IN (`+q.d.IDList+`)) AND channel_id NOT IN (`+q.d.IDList+`)
				) due WHERE rn <= ? ORDER BY next_attempt_at, id LIMIT ?)`+q.d.ForUpdateSkipLocked+`)
		AND state = 'queued' AND (lease_until IS NULL OR lease_until <= ?)
		RETURNING `+deliveryCols,
		micros(p.LeaseUntil), micros(p.Now), micros(p.Now), hasOnly, string(only), string(exclude), perChannel, p.Limit,
		micros(p.Now))
}

// idChunk bounds one statement's JSON list of ids.
const idChunk = 1000

func (q *Queries) DeliveryExtendLease(ctx context.Context, ids []string, leaseUntil time.Time) (int, error) {
	n := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), idChunk)]
		ids = ids[len(chunk):]
		list, err := json.Marshal(chunk)
		if err != nil {
			return n, err
		}
		res, err := q.exec(ctx, `UPDATE deliveries SET lease_until = ? WHERE state = 'queued' AND id IN (`+q.d.IDList+`)`,
			micros(leaseUntil), string(list))
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}

func (q *Queries) DeliveryReleaseAll(ctx context.Context) (int, error) {
	res, err := q.exec(ctx, `UPDATE deliveries SET lease_until = NULL WHERE state = 'queued' AND lease_until IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (q *Queries) DeliveryRecord(ctx context.Context, d *shiplog.Delivery, a *shiplog.Attempt) error {
	res, err := q.exec(ctx, `UPDATE deliveries SET state = ?, attempts = ?, max_attempts = ?, next_attempt_at = ?, lease_until = ?,
		last_error = ?, updated_at = ?, completed_at = ? WHERE id = ? AND state = 'queued'`,
		string(d.State), d.Attempts, d.MaxAttempts, micros(d.NextAttempt), nullMicros(d.LeaseUntil), d.LastError,
		micros(d.UpdatedAt), nullMicros(d.CompletedAt), d.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	hdr, err := json.Marshal(a.ResponseHeaders)
	if err != nil {
		return err
	}
	row := []any{a.ID, d.OrgID, d.ID, a.Number, micros(a.StartedAt), a.DurationMS, a.StatusCode, string(hdr),
		strings.ToValidUTF8(a.ResponseBody, "\uFFFD"), a.Error, a.Outcome}
	if q.pending != nil {
		q.pending.attempts = append(q.pending.attempts, row) // deferred.go
		return q.pending.err
	}
	return q.insertAttempts(ctx, [][]any{row})
}

func (q *Queries) DeliveryDefer(ctx context.Context, id string, next, leaseUntil time.Time) error {
	_, err := q.exec(ctx, `UPDATE deliveries SET next_attempt_at = ?, lease_until = ? WHERE id = ? AND state = 'queued'`,
		micros(next), micros(leaseUntil), id)
	return err
}

func (q *Queries) DeliveryRequeue(ctx context.Context, orgID, id string, now, leaseUntil time.Time, extra int) (*shiplog.Delivery, error) {
	ds, err := q.deliveries(ctx, `UPDATE deliveries SET state = 'queued', max_attempts = attempts + ?, next_attempt_at = ?,
		lease_until = ?, completed_at = NULL, updated_at = ? WHERE org_id = ? AND id = ? AND state <> 'queued' RETURNING `+deliveryCols,
		extra, micros(now), micros(leaseUntil), micros(now), orgID, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		if _, err := q.DeliveryGet(ctx, orgID, id); err != nil {
			return nil, err
		}
		return nil, store.ErrConflict // exists, but still queued
	}
	return ds[0], nil
}

func (q *Queries) DeliveryFailedSince(ctx context.Context, orgID, channelID string, since time.Time) ([]string, error) {
	return q.strings(ctx, `SELECT id FROM deliveries WHERE org_id = ? AND channel_id = ? AND state = 'failed' AND test = FALSE AND created_at >= ? ORDER BY id`,
		orgID, channelID, micros(since))
}

func (q *Queries) DeliveryRelease(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), idChunk)]
		ids = ids[len(chunk):]
		list, err := json.Marshal(chunk)
		if err != nil {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE deliveries SET lease_until = NULL WHERE state = 'queued' AND id IN (`+q.d.IDList+`)`,
			string(list)); err != nil {
			return err
		}
	}
	if q.d.NotifyDeliveries != nil {
		return q.mapErr(q.d.NotifyDeliveries(ctx, q.db))
	}
	return nil
}

func (q *Queries) DeliveryCancelChannel(ctx context.Context, channelID, reason string, now time.Time) error {
	_, err := q.exec(ctx, `UPDATE deliveries SET state = 'cancelled', last_error = ?, lease_until = NULL, completed_at = ?, updated_at = ?
		WHERE channel_id = ? AND state = 'queued'`, reason, micros(now), micros(now), channelID)
	return err
}

func (q *Queries) DeliveryList(ctx context.Context, orgID, channelID string, states []shiplog.DeliveryState, p store.Page) ([]*shiplog.Delivery, error) {
	where, args := []string{"org_id = ?", "channel_id = ?"}, []any{orgID, channelID}
	if len(states) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(states)-1)+")")
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	where, args, tail := pageClause(where, args, "id", p)
	return q.deliveries(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE `+strings.Join(where, " AND ")+tail, args...)
}

func (q *Queries) DeliveryGet(ctx context.Context, orgID, id string) (*shiplog.Delivery, error) {
	ds, err := q.deliveries(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, store.ErrNotFound
	}
	return ds[0], nil
}

func (q *Queries) AttemptList(ctx context.Context, orgID, deliveryID string) ([]*shiplog.Attempt, error) {
	rows, err := q.query(ctx, `SELECT id, delivery_id, number, started_at, duration_ms, status_code, response_headers,
		response_body, error, outcome FROM delivery_attempts WHERE org_id = ? AND delivery_id = ? ORDER BY number, id`, orgID, deliveryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Attempt
	for rows.Next() {
		var a shiplog.Attempt
		var started int64
		var hdr string
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.Number, &started, &a.DurationMS, &a.StatusCode, &hdr, &a.ResponseBody,
			&a.Error, &a.Outcome); err != nil {
			return nil, err
		}
		a.StartedAt = fromMicros(started)
		if err := json.Unmarshal([]byte(hdr), &a.ResponseHeaders); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, rows.Err()
}

func (q *Queries) DeliveryStats(ctx context.Context) (map[shiplog.DeliveryState]int, error) {
	rows, err := q.query(ctx, `SELECT state, COUNT(*) FROM deliveries GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[shiplog.DeliveryState]int{}
	for rows.Next() {
		var s shiplog.DeliveryState
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
