package master

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/local"
	"github.com/postern-mta/postern/internal/deliver/proxy"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/supervise"
)

// AgentCommand is the hidden subcommand that runs the privileged local
// delivery agent (see internal/deliver/proxy).
const AgentCommand = "local-agent"

// needsAgent reports whether local delivery must run in a separate root
// process: the daemon is root now and will drop to a mail_owner that is
// not root.
func needsAgent(cfg *config.Config) bool {
	if os.Geteuid() != 0 {
		return false
	}
	name, err := cfg.Get("mail_owner")
	if err != nil {
		return false
	}
	u, err := user.Lookup(name)
	return err == nil && u.Uid != "0"
}

// startAgent starts the agent's supervisor (internal/supervise), still
// as root, connected to the daemon by a control socket on which it
// passes the connection of every agent process it starts. It dies with
// the daemon (the socket closes, and the kernel kills it if the daemon
// dies first).
func startAgent(dir string) (*net.UnixConn, int, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("local delivery agent: socketpair: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "agent supervisor"), os.NewFile(uintptr(fds[1]), "daemon")
	defer theirs.Close()
	defer mine.Close()
	self, err := os.Executable()
	if err != nil {
		return nil, 0, fmt.Errorf("local delivery agent: %w", err)
	}
	cmd := exec.Command(self, AgentCommand, "-c", dir)
	cmd.Stderr = os.Stderr // the daemon's log
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("local delivery agent: %w", err)
	}
	go cmd.Wait()
	conn, err := net.FileConn(mine)
	if err != nil {
		cmd.Process.Kill()
		return nil, 0, fmt.Errorf("local delivery agent: %w", err)
	}
	return conn.(*net.UnixConn), cmd.Process.Pid, nil
}

// RunSupervisor is the agent's supervisor process: it starts the agent
// process (AgentCommand -worker) and restarts it whenever it exits,
// until the daemon closes ctl (fd 3).
func RunSupervisor(dir string, ctl *net.UnixConn) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return supervise.Run(ctl, func() *exec.Cmd {
		cmd := exec.Command(self, AgentCommand, "-worker", "-c", dir)
		cmd.Stderr = os.Stderr
		return cmd
	}, supervise.DefaultBackoff())
}

// RunAgent is the agent process: it serves local and virtual
// deliveries for the daemon on conn (fd 3) until the daemon goes away. It reads message
// content straight from the queue files and reloads the configuration
// when the daemon does.
func RunAgent(dir string, conn io.ReadWriter, log *slog.Logger) error {
	build := func(q queue.Queue) (map[string]deliver.Agent, error) {
		cfg, err := config.Load(dir)
		if err != nil {
			return nil, err
		}
		pol, err := policy.New(context.Background(), cfg, OpenTable)
		if err != nil {
			return nil, err
		}
		lc, err := localConfig(cfg, pol, q, log)
		if err != nil {
			return nil, err
		}
		la, err := local.New(lc)
		if err != nil {
			return nil, err
		}
		va, err := newVirtualAgent(cfg, log)
		if err != nil {
			return nil, err
		}
		return map[string]deliver.Agent{"": la, "virtual": va}, nil
	}
	cfg, err := config.Load(dir)
	if err != nil {
		return err
	}
	qdir, err := cfg.Get("queue_directory")
	if err != nil {
		return err
	}
	// The queue is opened at the first delivery, by then created by the
	// daemon as mail_owner: opened here, as root, its directories would
	// be root's.
	var mu sync.Mutex
	var store *queue.Store
	return proxy.ServeAgents(conn, build, func(id string) (io.ReadCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		if store == nil {
			if _, err := os.Stat(filepath.Join(qdir, queue.Active)); err != nil {
				return nil, err
			}
			s, err := queue.Open(qdir, queue.Options{NoRecover: true})
			if err != nil {
				return nil, err
			}
			store = s
		}
		return store.Content(queue.Active, id)
	})
}
