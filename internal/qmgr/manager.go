package qmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/bounce"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/route"
)

// Config is what the manager needs from main.cf.
type Config struct {
	Router *route.Router
	// Agents by transport name (master.cf service): "local", "smtp", …
	// A route to a transport without an agent is deferred.
	Agents map[string]deliver.Agent

	MinBackoff, MaxBackoff time.Duration // minimal_/maximal_backoff_time
	RunDelay               time.Duration // queue_run_delay
	MaxLifetime            time.Duration // maximal_queue_lifetime
	BounceLifetime         time.Duration // bounce_queue_lifetime
	DelayWarning           time.Duration // delay_warning_time; 0 = none
	SoftBounce             bool          // soft_bounce
	// Direct is direct_local_delivery: a small message for one local
	// recipient is delivered before the SMTP reply (direct.go).
	Direct bool
	// DirectLMTP is direct_lmtp_delivery: a small message whose
	// recipients all go to one lmtp next hop is delivered there before
	// the SMTP reply (direct.go).
	DirectLMTP bool

	// Limits returns a transport's destination concurrency and recipient
	// limits (<transport>_destination_concurrency_limit, …).
	Limits       func(transport string) (concurrency, recipients int)
	ProcessLimit int // default_process_limit: deliveries at once, all transports
	ActiveLimit  int // messages worked on at once

	Hostname        string // myhostname
	MailName        string // mail_name
	BounceSizeLimit int64  // bounce_size_limit

	// Rewrite is cleanup's address rewriting (internal/rewrite), applied
	// to every message the manager queues, whatever its origin; nil: none.
	Rewrite Rewriter

	Log *slog.Logger     // maillog; "program" is set per line
	Now func() time.Time // nil: time.Now
}

// Rewriter rewrites an envelope before it is queued (rewrite.Rewriter);
// an error means the message must not be queued now.
type Rewriter interface {
	Envelope(ctx context.Context, env *queue.Envelope) error
}

// rewrite returns env as Config.Rewrite rewrites it, a copy: the
// caller's envelope is left as it was.
func (m *Manager) rewrite(ctx context.Context, env *queue.Envelope) (*queue.Envelope, error) {
	rw := m.config().Rewrite
	if rw == nil {
		return env, nil
	}
	e := *env
	e.Recipients = append([]queue.Recipient(nil), env.Recipients...)
	if err := rw.Envelope(ctx, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Manager schedules deliveries. Create it with New, run it with Run.
type Manager struct {
	store Store
	cfgMu sync.Mutex
	cfg   *Config
	kick  chan struct{}
	flush chan struct{}
	procs chan struct{}
	msgs  chan struct{}

	mu      sync.Mutex
	active  map[string]bool
	runCtx  context.Context // Run's, for DeliverNow
	stopped bool            // Run is waiting for the last deliveries
	dests   map[string]*window
	dead    map[string]deadDest  // suspended destinations (dead.go)
	retry   map[string]retryTime // deferred messages' next attempts, as last read or set
	due     map[string]bool      // deferred messages to try at the next scan (Retry)
	wg      sync.WaitGroup

	directWait time.Duration // directSlotWait; tests that are not about it wait longer
	maxHold    time.Duration // how long a job holds outcomes (heldresults.go)
	retryNow   chan struct{} // starts a deferred scan for due (retry.go)
}

// New returns a manager for store.
func New(store Store, cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ProcessLimit < 1 {
		cfg.ProcessLimit = 100
	}
	if cfg.ActiveLimit < 1 {
		cfg.ActiveLimit = 1000
	}
	if cfg.RunDelay <= 0 {
		cfg.RunDelay = 300 * time.Second
	}
	return &Manager{store: store, cfg: &cfg,
		kick: make(chan struct{}, 1), flush: make(chan struct{}, 1),
		procs: make(chan struct{}, cfg.ProcessLimit), msgs: make(chan struct{}, cfg.ActiveLimit),
		active: map[string]bool{}, dests: map[string]*window{}, dead: map[string]deadDest{}, retry: map[string]retryTime{},
		directWait: directSlotWait, maxHold: maxHold,
		due: map[string]bool{}, retryNow: make(chan struct{}, 1)}
}

// Reconfigure makes later rounds use cfg (after a reload); rounds under
// way finish with the configuration they began with. The concurrency
// limits set by New stay.
func (m *Manager) Reconfigure(cfg Config) (previous *Config) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = m.config().Log
	}
	m.cfgMu.Lock()
	previous, m.cfg = m.cfg, &cfg
	m.cfgMu.Unlock()
	return previous
}

func (m *Manager) config() *Config {
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	return m.cfg
}

// Queue returns the queue the SMTP server should hand messages to: the
// store, and a nudge to the manager after each message.
func (m *Manager) Queue() queue.Queue { return kickingQueue{m} }

type kickingQueue struct{ m *Manager }

func (k kickingQueue) Enqueue(ctx context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	env, err := k.m.rewrite(ctx, env)
	if err != nil {
		return "", err
	}
	if env.Hold { // on hold: not for the manager until released
		return k.m.store.Enqueue(ctx, env, body)
	}
	d := k.m.deliverDirect(ctx, env, body)
	if d.delivered {
		return env.ID, nil
	} else if d.content != nil {
		body = bytes.NewReader(d.content)
	}
	id, err := k.m.store.Enqueue(ctx, d.queue, body)
	if err == nil {
		k.m.startNew(id)
	}
	return id, err
}

// EnqueueBounced queues a message whose recipients all failed before
// delivery (queue.Bouncer): it is written to hold, where the manager
// never takes it, its recipients are recorded as failed with st, and
// it moves to incoming, where the manager sends the sender's failure
// notice and removes it, as for any bounced message. A crash before the
// move leaves it in hold: nothing is lost.
func (k kickingQueue) EnqueueBounced(ctx context.Context, env *queue.Envelope, body io.Reader, st queue.RcptStatus) (string, error) {
	env, err := k.m.rewrite(ctx, env) // the notice names the recipients as rewritten
	if err != nil {
		return "", err
	}
	e := *env
	e.Hold = true
	id, err := k.m.store.Enqueue(ctx, &e, body)
	if err != nil {
		return "", err
	}
	cfg := k.m.config()
	if st.At.IsZero() {
		st.At = cfg.Now()
	}
	updates := map[int]queue.RcptStatus{}
	for i := range env.Recipients {
		s := st
		s.State = queue.Bounced
		s.Notified = !bounce.Wanted(bounce.Failure, &e, i, cfg.Hostname)
		updates[i] = s
	}
	if err := k.m.store.Update(queue.Hold, id, updates); err != nil {
		k.m.store.Remove(queue.Hold, id) // not acknowledged: the caller tries again
		return "", err
	}
	delay := "0"
	if !e.Arrival.IsZero() {
		delay = maillog.Delay(st.At.Sub(e.Arrival))
	}
	for _, r := range env.Recipients {
		k.m.log("qmgr").Info(fmt.Sprintf("%s: %s, relay=none, delay=%s, delays=%s/0/0/0, dsn=%s, status=bounced (%s)",
			id, toField(r), delay, delay, st.DSN, st.Reason))
	}
	if err := k.m.store.Move(id, queue.Hold, queue.Incoming); err != nil {
		// Recorded as bounced, on hold: postsuper -H sends the notice.
		k.m.log("qmgr").Warn(fmt.Sprintf("%s: move to incoming: %v; left on hold", id, err))
		return id, nil
	}
	k.m.startNew(id)
	return id, nil
}

// startNew starts work on a message just queued in incoming at once, as
// the next scan would, without listing the queue directory; when the
// manager is not running or works on ActiveLimit messages, a scan will.
func (m *Manager) startNew(id string) {
	m.mu.Lock()
	ctx := m.runCtx
	m.mu.Unlock()
	if ctx == nil {
		m.Kick()
		return
	}
	select {
	case m.msgs <- struct{}{}:
	default:
		m.Kick()
		return
	}
	if !m.claim(id) || !m.spawn(ctx, id, queue.Incoming, true) {
		<-m.msgs
	}
}

// CheckSpace passes the store's free-space check through, when it has one.
func (k kickingQueue) CheckSpace(size int64) error {
	if sc, ok := k.m.store.(queue.SpaceChecker); ok {
		return sc.CheckSpace(size)
	}
	return nil
}

// Kick makes the manager look at the incoming queue now.
func (m *Manager) Kick() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Flush makes every deferred message due now (postqueue -f).
func (m *Manager) Flush() {
	select {
	case m.flush <- struct{}{}:
	default:
	}
}

// DeliverNow starts a delivery attempt for one message in the incoming or
// deferred queue at once (postqueue -i).
func (m *Manager) DeliverNow(id string) error {
	if !queue.ValidID(id) {
		return fmt.Errorf("%s: invalid queue ID", id)
	}
	m.mu.Lock()
	ctx := m.runCtx
	m.mu.Unlock()
	if ctx == nil {
		return errors.New("the queue manager is not running")
	}
	for _, q := range []string{queue.Incoming, queue.Deferred} {
		if _, err := m.store.Read(q, id); err != nil {
			continue
		}
		if m.claim(id) {
			m.spawn(ctx, id, q, false)
		}
		return nil
	}
	return fmt.Errorf("%s: no such message in the incoming or deferred queue", id)
}

// Run schedules deliveries until ctx ends, then waits for the deliveries
// under way (their agents see ctx end and defer what is unfinished).
func (m *Manager) Run(ctx context.Context) error {
	defer func() {
		m.mu.Lock()
		m.stopped = true // no more spawn: the WaitGroup must not grow during Wait
		m.mu.Unlock()
		m.wg.Wait()
	}()
	m.mu.Lock()
	m.runCtx, m.stopped = ctx, false
	m.mu.Unlock()
	tick := time.NewTicker(m.config().RunDelay)
	defer tick.Stop()
	m.scan(ctx, queue.Active, false) // left over from a crash (recovery normally moves them)
	m.scan(ctx, queue.Incoming, false)
	m.scan(ctx, queue.Deferred, false)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.kick:
			m.scan(ctx, queue.Incoming, false)
		case <-tick.C:
			m.scan(ctx, queue.Incoming, false)
			m.scan(ctx, queue.Deferred, false)
		case <-m.retryNow:
			m.scan(ctx, queue.Deferred, false)
		case <-m.flush:
			m.scan(ctx, queue.Incoming, true)
			m.scan(ctx, queue.Deferred, true)
		}
	}
}

// scan starts work on the messages of a queue that are due.
func (m *Manager) scan(ctx context.Context, q string, all bool) {
	ids, err := m.store.List(q)
	if err != nil {
		m.log("qmgr").Warn(fmt.Sprintf("scan %s queue: %v", q, err))
		return
	}
	now := m.config().Now()
	if q == queue.Deferred {
		m.forgetGone(ids)
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if q == queue.Deferred && !all && !m.isDue(id) && m.nextAttempt(id).After(now) {
			continue
		}
		if !m.claim(id) {
			continue // under way: a due one is scanned again once released
		}
		select {
		case m.msgs <- struct{}{}:
		case <-ctx.Done():
			m.release(id)
			return
		}
		if !m.spawn(ctx, id, q, true) {
			<-m.msgs
			return
		}
	}
}

// spawn runs process for a claimed message in a goroutine Run waits for,
// and frees the claim (and the ActiveLimit slot it holds, if slot) when
// done. It reports false, having freed the claim, once Run is ending.
func (m *Manager) spawn(ctx context.Context, id, q string, slot bool) bool {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		m.release(id)
		return false
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		defer func() {
			if slot {
				<-m.msgs
			}
			m.release(id)
		}()
		m.process(ctx, id, q)
	}()
	return true
}

// nextAttempt is when a deferred message is due, read from its queue
// file once and again only when the file has changed (the manager's own
// deferral, or a tool such as postsuper -H): a scan of a large deferred
// queue costs a stat per message instead of a read (Postfix keeps the
// time in the file's mtime for the same reason). A file that cannot be
// read is never due here; a flush still tries it.
func (m *Manager) nextAttempt(id string) time.Time {
	ver, err := m.store.Version(queue.Deferred, id)
	if err != nil {
		return time.Unix(1<<62, 0)
	}
	m.mu.Lock()
	r, ok := m.retry[id]
	m.mu.Unlock()
	if ok && r.ver == ver {
		return r.next
	}
	msg, err := m.store.Read(queue.Deferred, id)
	if err != nil {
		return time.Unix(1<<62, 0)
	}
	m.setRetry(id, msg.NextAttempt, ver)
	return msg.NextAttempt
}

// retryTime is a deferred message's next attempt and the version of its
// file it was learnt from.
type retryTime struct {
	next time.Time
	ver  queue.Version
}

func (m *Manager) setRetry(id string, next time.Time, ver queue.Version) {
	m.mu.Lock()
	m.retry[id] = retryTime{next, ver}
	m.mu.Unlock()
}

// forgetGone drops what is remembered of messages that have left the
// deferred queue (ids is what it holds now): their retry times, and the
// Retry marks (retry.go) of those not under way either. One set of ids
// serves both.
func (m *Manager) forgetGone(ids []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.retry) == 0 && len(m.due) == 0 {
		return
	}
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[id] = true
	}
	for id := range m.retry {
		if !present[id] {
			delete(m.retry, id)
		}
	}
	for id := range m.due {
		if !present[id] && !m.active[id] {
			delete(m.due, id)
		}
	}
}

func (m *Manager) claim(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active[id] {
		return false
	}
	m.active[id] = true
	delete(m.due, id) // this attempt is the one Retry asked for
	return true
}

func (m *Manager) release(id string) {
	m.mu.Lock()
	delete(m.active, id)
	due := m.due[id]
	m.mu.Unlock()
	if due { // Retry asked while it was under way
		m.retrySoon()
	}
}

// destination returns the semaphore of one transport:nexthop.
func (m *Manager) destination(key string, limit int) *window {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.dests[key]
	if !ok {
		d = newWindow(limit)
		m.dests[key] = d
	} else if d.limit != limit {
		d.setLimit(limit)
	}
	return d
}

func (m *Manager) log(program string) *slog.Logger {
	return m.config().Log.With("program", "postern/"+program)
}

// warnStore logs a queue write that failed, under program. A shortage
// of space is logged once, by the first program it refuses (see
// queue.SpaceError), not once per message and attempt.
func (m *Manager) warnStore(program, format string, args ...any) {
	if err, ok := args[len(args)-1].(error); ok && errors.Is(err, queue.ErrNoSpace) && !queue.FirstShortage(err) {
		return
	}
	m.log(program).Warn(fmt.Sprintf(format, args...))
}
