package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// The ingest path reads an org's rules, settings and channels for every
// event, inside the single writer; they change a few times a day. So they
// are kept in memory (configCache), tagged with the org's generation
// (org_generations, migration 00017), which every change to them
// increments in its own transaction. A reader trusts the copy only when the
// generation it reads matches, which holds across replicas: a replica that
// changed nothing still sees another's increment in the database.

// configCache is a Store's in-memory copy of org configurations.
type configCache struct {
	mu sync.Mutex
	m  map[string]*store.OrgConfig
}

// maxCachedOrgs bounds the cache; past it, it starts again empty.
const maxCachedOrgs = 1024

func (c *configCache) get(orgID string) *store.OrgConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[orgID]
}

func (c *configCache) put(cfg *store.OrgConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[cfg.OrgID]; old != nil && old.Gen > cfg.Gen {
		return // a slower reader of an older generation
	}
	if len(c.m) >= maxCachedOrgs {
		clear(c.m)
	}
	c.m[cfg.OrgID] = cfg
}

// txGens is a write transaction's view of generations. A batch reads an
// org's generation once (every request in it was received before the
// transaction began, so every change answered before them is counted). An
// org whose configuration this transaction changed is dirty: until the
// transaction ends it is read from the database only, and never cached — a
// savepoint may still roll the change back.
type txGens struct {
	gen   map[string]int64
	dirty map[string]bool
}

func newTxGens() *txGens { return &txGens{gen: map[string]int64{}, dirty: map[string]bool{}} }

// OrgGeneration implements store.Reader.
func (q *Queries) OrgGeneration(ctx context.Context, orgID string) (int64, error) {
	if q.gens != nil && !q.gens.dirty[orgID] {
		if g, ok := q.gens.gen[orgID]; ok {
			return g, nil
		}
	}
	var g int64
	err := q.row(ctx, `SELECT gen FROM org_generations WHERE org_id = ?`, orgID).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		g, err = 0, nil
	}
	if err != nil {
		return 0, q.mapErr(err)
	}
	if q.gens != nil && !q.gens.dirty[orgID] {
		q.gens.gen[orgID] = g
	}
	return g, nil
}

// changed records a change to orgID's configuration: called by every
// write to what OrgConfig returns, in the writing transaction.
func (q *Queries) changed(ctx context.Context, orgID string) error {
	if q.gens != nil {
		q.gens.dirty[orgID] = true
	}
	_, err := q.exec(ctx, `INSERT INTO org_generations (org_id, gen) VALUES (?, 1)
		ON CONFLICT (org_id) DO UPDATE SET gen = org_generations.gen + 1`, orgID)
	return err
}

// OrgConfig implements store.Reader.
func (q *Queries) OrgConfig(ctx context.Context, orgID string) (*store.OrgConfig, error) {
	// The generation first, then the rows: rows read after it are at
	// least as new as it, so a copy is never older than its tag.
	g, err := q.OrgGeneration(ctx, orgID)
	if err != nil {
		return nil, err
	}
	cacheable := q.configs != nil && (q.gens == nil || !q.gens.dirty[orgID])
	if cacheable {
		if c := q.configs.get(orgID); c != nil && c.Gen == g {
			return c, nil
		}
	}
	c := &store.OrgConfig{OrgID: orgID, Gen: g}
	if c.Rules, err = q.RuleList(ctx, orgID); err != nil {
		return nil, err
	}
	if c.Settings, err = q.OrgSettingsGet(ctx, orgID); errors.Is(err, store.ErrNotFound) {
		c.Settings, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c.Channels, err = q.channels(ctx, orgID, `c.org_id = ? AND c.enabled = TRUE ORDER BY c.id`, orgID); err != nil {
		return nil, err
	}
	if cacheable {
		q.configs.put(c)
	}
	return c, nil
}

// channelsFor is ChannelsForEvent answered from cfg.
func channelsFor(cfg *store.OrgConfig, t shiplog.EventType) []*shiplog.Channel {
	var out []*shiplog.Channel
	for _, c := range cfg.Channels {
		if slices.Contains(c.Events, t) {
			out = append(out, c)
		}
	}
	return out
}
