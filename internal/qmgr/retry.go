package qmgr

// Retry makes the deferred messages ids due now, for a cause of their
// deferral that has gone away (the local delivery agent is back): a scan
// of the deferred queue starts them, within the active limit. One that
// is still being deferred (its deferral is being recorded) starts once
// its attempt has ended.
func (m *Manager) Retry(ids []string) {
	m.mu.Lock()
	for _, id := range ids {
		m.due[id] = true
	}
	m.mu.Unlock()
	m.retrySoon()
}

func (m *Manager) retrySoon() {
	select {
	case m.retryNow <- struct{}{}:
	default:
	}
}

// isDue reports whether Retry made id due.
func (m *Manager) isDue(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.due[id]
}
