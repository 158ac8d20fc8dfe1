package master

import "sync"

// life is how a generation ends. Each session counts itself in (enter)
// and out (leave) of the generation it began with; a reload retires
// the generation it replaces. Once a retired generation has no session
// left, its servers' connection pools are closed (end): the policy
// services' (check_policy_service) and the Dovecot AUTH connection, so
// that reloads leave no connections behind.
type life struct {
	mu      sync.Mutex
	active  int
	retired bool
}

// enter counts a session in; false when the generation is retired
// (a reload swapped it out since it was loaded): take the current one.
func (g *generation) enter() bool {
	g.life.mu.Lock()
	defer g.life.mu.Unlock()
	if g.life.retired {
		return false
	}
	g.life.active++
	return true
}

// leave counts a session out, and ends a retired generation with its
// last session.
func (g *generation) leave() {
	g.life.mu.Lock()
	g.life.active--
	end := g.life.retired && g.life.active == 0
	g.life.mu.Unlock()
	if end {
		g.end()
	}
}

// retire marks a generation replaced: no session enters it any more,
// and it ends now or with its last session.
func (g *generation) retire() {
	g.life.mu.Lock()
	if g.life.retired {
		g.life.mu.Unlock()
		return
	}
	g.life.retired = true
	end := g.life.active == 0
	g.life.mu.Unlock()
	if end {
		g.end()
	}
}

// end closes the pooled connections of the generation's servers. The
// queue manager may still route with main.cf's Policy until its next
// Reconfigure: routing needs no connection, and a policy service
// queried after Close still answers (on a connection it does not keep).
func (g *generation) end() {
	for _, srv := range g.distinctServers() {
		srv.Policy.Close()
		if srv.StressPolicy != nil {
			srv.StressPolicy.Close()
		}
		if srv.SASL != nil {
			srv.SASL.Close()
		}
	}
	if g.ended != nil {
		g.ended()
	}
}

// enterGen returns the current generation, counted in for a session
// that must leave it when it ends.
func (d *Daemon) enterGen() *generation {
	for {
		if g := d.gen.Load(); g.enter() {
			return g
		}
	}
}
