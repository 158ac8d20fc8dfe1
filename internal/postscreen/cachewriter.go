package postscreen

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/postern-mta/postern/internal/atomicfile"
)

// The writer of a cache with a file: appends, compactions, Close.

// Compact rewrites the cache file with the records not expired for
// longer than the retention time, drops the others from memory too, and
// logs it as Postfix does ("cache btree:/… full cleanup: retained=N
// dropped=N entries"). It does nothing for a cache without a file.
func (c *Cache) Compact() (retained, dropped int, err error) {
	if c == nil || c.disk == nil {
		return 0, 0, nil
	}
	c.disk.fmu.Lock()
	defer c.disk.fmu.Unlock()
	return c.compact()
}

// compact is Compact under disk.fmu: the new file is written (synced,
// renamed into place) from a copy of the records taken under c.mu, so
// lookups and updates wait only for the copy; lines queued meanwhile
// stay queued, for the new file.
func (c *Cache) compact() (int, int, error) {
	d := c.disk
	type entry struct {
		a netip.Addr
		r Record
	}
	c.mu.Lock()
	now := d.now()
	dropped := 0
	entries := make([]entry, 0, len(c.records))
	for a, r := range c.records {
		if r.expired(now, d.opts.Retention) {
			delete(c.records, a)
			dropped++
			continue
		}
		entries = append(entries, entry{a, r})
	}
	covered := len(d.pending) // lines the copy holds
	d.dirty = false
	c.mu.Unlock()
	slices.SortFunc(entries, func(x, y entry) int { return x.a.Compare(y.a) })
	buf := cacheHeader()
	for _, e := range entries {
		buf, _ = appendRecord(buf, e.a, e.r)
	}
	err := d.replace(buf)
	c.mu.Lock()
	if err != nil {
		d.dirty = true
	} else {
		d.pending = append(d.pending[:0], d.pending[covered:]...)
	}
	c.mu.Unlock()
	d.lastCompact = now
	if err != nil {
		return 0, 0, fmt.Errorf("postscreen_cache_map %s: %w", d.m.Name, err)
	}
	d.opts.Log.Info(fmt.Sprintf("cache %s full cleanup: retained=%d dropped=%d entries", d.m.Name, len(entries), dropped))
	return len(entries), dropped, nil
}

// replace puts buf in place of the file (atomicfile: temporary file,
// fsync, rename) and reopens it for appending.
func (d *diskState) replace(buf []byte) error {
	if err := atomicfile.WriteFile(d.m.Path, buf, 0o600); err != nil {
		return err
	}
	f, err := openOwned(d.m.Path, os.O_WRONLY|os.O_APPEND)
	if d.f != nil {
		d.f.Close() // the replaced file
		d.f = nil
	}
	if err != nil {
		return err
	}
	d.f = f
	return nil
}

// run is the writer: it appends queued lines, compacts every cleanup
// interval, and flushes and closes the file at Close.
func (c *Cache) run() {
	d := c.disk
	defer close(d.done)
	timer := time.NewTimer(time.Hour)
	arm := func() {
		c.mu.Lock()
		iv := d.opts.Cleanup
		c.mu.Unlock()
		timer.Stop()
		if iv > 0 {
			timer.Reset(iv)
		}
	}
	arm()
	for {
		select {
		case <-d.wake:
			c.flush(false)
		case <-timer.C:
			d.fmu.Lock()
			_, _, err := c.compact()
			d.report(err)
			d.fmu.Unlock()
			arm()
		case <-d.reconf:
			arm()
		case <-d.stop:
			timer.Stop()
			c.mu.Lock()
			d.closed = true
			c.mu.Unlock()
			c.flush(true)
			d.fmu.Lock()
			if d.f != nil {
				if err := d.f.Sync(); err != nil {
					d.closeErr = fmt.Errorf("postscreen_cache_map %s: fsync: %w", d.m.Name, err)
				}
				d.f.Close()
				d.f = nil
			}
			d.fmu.Unlock()
			return
		}
	}
}

// flush appends the queued lines. A dirty file is compacted instead, at
// most once a minute (always when final).
func (c *Cache) flush(final bool) {
	d := c.disk
	d.fmu.Lock()
	defer d.fmu.Unlock()
	c.mu.Lock()
	if d.dirty || d.f == nil {
		retry := final || d.now().Sub(d.lastCompact) >= time.Minute
		c.mu.Unlock()
		if retry {
			_, _, err := c.compact()
			d.report(err)
			if final && err != nil {
				d.closeErr = err
			}
		}
		return
	}
	buf := d.pending
	d.pending, d.spare = d.spare[:0], nil
	c.mu.Unlock()
	if len(buf) == 0 {
		return
	}
	_, err := d.f.Write(buf)
	c.mu.Lock()
	if cap(buf) <= 64<<10 {
		d.spare = buf[:0]
	}
	if err != nil {
		d.dirty = true
	}
	c.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("postscreen_cache_map %s: write: %w: the records are kept in memory, and written at the next cleanup", d.m.Name, err)
	}
	d.report(err)
	if final && err != nil {
		d.closeErr = err
	}
}

// report logs the first of a run of write failures, and the recovery.
func (d *diskState) report(err error) {
	switch {
	case err != nil && !d.failing:
		d.opts.Log.Warn(err.Error())
		d.failing = true
	case err == nil && d.failing:
		d.opts.Log.Info(fmt.Sprintf("postscreen_cache_map %s: writes work again", d.m.Name))
		d.failing = false
	}
}

// Close writes what is queued, syncs and closes the file of a cache
// with one; the cache still answers Get and takes Put, in memory only.
func (c *Cache) Close() error {
	if c == nil || c.disk == nil {
		return nil
	}
	d := c.disk
	d.stopOnce.Do(func() { close(d.stop) })
	<-d.done
	return d.closeErr
}
