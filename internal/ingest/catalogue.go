package ingest

import (
	"sync"

	"github.com/shiplog/shiplog"
)

// catalogue is an in-memory copy of catalogue rows, so that an event's
// lookup costs no query once its product, version and environment were
// seen. Only rows that cannot change are kept as they are: products,
// versions that have a SHA; environments are kept with the org generation
// they were read at. Each map starts again empty past maxCatalogue entries.
type catalogue struct {
	mu       sync.Mutex
	products map[[2]string]*shiplog.Product // org id, name
	versions map[[2]string]*shiplog.Version // product id, version
	envs     map[[2]string]cachedEnv        // org id, name
}

type cachedEnv struct {
	env *shiplog.Environment
	gen int64
}

const maxCatalogue = 1 << 14

func (c *catalogue) product(orgID, name string) *shiplog.Product {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.products[[2]string{orgID, name}]
}

func (c *catalogue) putProduct(orgID string, p *shiplog.Product) *shiplog.Product {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.products = room(c.products)
	c.products[[2]string{orgID, p.Name}] = p
	return p
}

func (c *catalogue) version(productID, version string) *shiplog.Version {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.versions[[2]string{productID, version}]
}

// putVersion keeps v if it has a SHA; without one, the next event may set it.
func (c *catalogue) putVersion(v *shiplog.Version) *shiplog.Version {
	if v.ScmSHA == nil {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versions = room(c.versions)
	c.versions[[2]string{v.ProductID, v.Version}] = v
	return v
}

func (c *catalogue) env(orgID, name string) (*shiplog.Environment, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.envs[[2]string{orgID, name}]
	return e.env, e.gen
}

func (c *catalogue) putEnv(orgID string, e *shiplog.Environment, gen int64) *shiplog.Environment {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.envs = room(c.envs)
	c.envs[[2]string{orgID, e.Name}] = cachedEnv{env: e, gen: gen}
	return e
}

func (c *catalogue) forgetEnv(orgID, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.envs, [2]string{orgID, name})
}

// room returns m, or a fresh map when m is nil or full.
func room[V any](m map[[2]string]V) map[[2]string]V {
	if m == nil || len(m) >= maxCatalogue {
		return make(map[[2]string]V)
	}
	return m
}
