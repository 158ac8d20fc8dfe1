package master

import (
	"github.com/postern-mta/postern/internal/postscreen"
)

// cacheBinding is a generation's postscreen caches before the
// generation is in use: commit keeps them, rollback closes those it
// opened.
type cacheBinding struct {
	d      *Daemon
	g      *generation
	opened []*postscreen.Cache
	use    map[string]*postscreen.Cache // by file
}

// bindCaches gives each postscreen service of g its temporary allowlist:
// the cache of its postscreen_cache_map (none when empty), one per file,
// shared by the services that name it. A cache the running generation
// has stays open (a reload keeps it); a new one is opened and loaded
// now, so that a cache that cannot be opened fails the start or the
// reload. The first service (in master.cf order) naming a file sets its
// retention time and cleanup interval. Call after privileges are
// dropped: the file belongs to mail_owner.
func (d *Daemon) bindCaches(g *generation) (*cacheBinding, error) {
	b := &cacheBinding{d: d, g: g, use: map[string]*postscreen.Cache{}}
	g.screenCaches = map[string]*postscreen.Cache{}
	for _, svc := range g.screenOrder {
		pc := g.screens[svc].Config
		m := pc.CacheMap
		if m.Path == "" {
			continue // no cache: every client is tested at every connection
		}
		c := b.use[m.Path]
		if c == nil {
			if c = d.caches[m.Path]; c == nil {
				var err error
				c, err = postscreen.OpenCache(m, postscreen.CacheOptions{Retention: pc.CacheRetention, Cleanup: pc.CacheCleanup,
					Log: d.Log.With("program", "postern/postscreen")})
				if err != nil {
					b.rollback()
					return nil, err
				}
				b.opened = append(b.opened, c)
			}
			b.use[m.Path] = c
		}
		g.screenCaches[svc] = c
	}
	return b, nil
}

// commit makes the binding the daemon's: kept caches take their new
// settings, caches no service names any more are closed (sessions of
// the old generation still running keep theirs in memory).
func (b *cacheBinding) commit() {
	configured := map[*postscreen.Cache]bool{}
	for _, svc := range b.g.screenOrder {
		if c := b.g.screenCaches[svc]; c != nil && !configured[c] {
			pc := b.g.screens[svc].Config
			c.Configure(pc.CacheRetention, pc.CacheCleanup)
			c.SetLimit(pc.CacheLimit, b.d.Log.With("program", "postern/postscreen"))
			configured[c] = true
		}
	}
	for path, c := range b.d.caches {
		if b.use[path] != c {
			b.d.closeCache(c)
		}
	}
	b.d.caches = b.use
}

// rollback closes the caches the binding opened.
func (b *cacheBinding) rollback() {
	for _, c := range b.opened {
		b.d.closeCache(c)
	}
}

func (d *Daemon) closeCache(c *postscreen.Cache) {
	if err := c.Close(); err != nil {
		d.Log.With("program", "postern/postscreen").Warn(err.Error())
	}
}

// closeCaches writes and closes every cache at stop.
func (d *Daemon) closeCaches() {
	for _, c := range d.caches {
		d.closeCache(c)
	}
	d.caches = nil
}
