package supervise

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"syscall"
)

// event is one message from the supervisor to the daemon, one datagram
// each; "started" carries the daemon's end of the new worker's socket
// pair as its only file descriptor.
type event struct {
	Kind    string `json:"kind"`              // "started", "exited" or "failed"
	Pid     int    `json:"pid,omitempty"`     // the worker
	Status  string `json:"status,omitempty"`  // exited: "signal: killed", "exit status 1"
	Err     string `json:"err,omitempty"`     // failed: why the worker could not start
	Restart string `json:"restart,omitempty"` // exited, failed: delay before the next start
}

// maxEvent bounds one event datagram.
const maxEvent = 4096

func sendEvent(ctl *net.UnixConn, ev event, fd *os.File) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	var oob []byte
	if fd != nil {
		oob = syscall.UnixRights(int(fd.Fd()))
	}
	_, _, err = ctl.WriteMsgUnix(b, oob, nil)
	return err
}

// readEvent reads one event and the file descriptors that came with it,
// which the caller must close.
func readEvent(ctl *net.UnixConn) (event, []*os.File, error) {
	buf := make([]byte, maxEvent)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	n, oobn, _, _, err := ctl.ReadMsgUnix(buf, oob) // Linux: MSG_CMSG_CLOEXEC
	if err != nil {
		return event{}, nil, err
	}
	if n == 0 {
		return event{}, nil, os.ErrClosed // SOCK_SEQPACKET: the peer closed
	}
	var files []*os.File
	if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			fds, err := syscall.ParseUnixRights(&m)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				files = append(files, os.NewFile(uintptr(fd), "local delivery agent"))
			}
		}
	}
	var ev event
	if err := json.Unmarshal(buf[:n], &ev); err != nil {
		return event{}, files, errBadEvent{fmt.Errorf("local delivery agent supervisor: bad event: %w", err)}
	}
	return ev, files, nil
}

// errBadEvent marks a datagram that is not an event.
type errBadEvent struct{ error }

func isBadEvent(err error) bool {
	_, ok := err.(errBadEvent)
	return ok
}
