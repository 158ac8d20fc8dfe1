package master

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maps"
)

// Reloads must not leave the replaced generations' hash: tables open:
// after N reloads, each followed by a session, and a garbage collection
// the process holds about as many open files as before them. (A dropped
// table's file is closed by the *os.File's own finalizer; this guards
// against anything keeping old generations' tables reachable.)
func TestReloadDropsOldTables(t *testing.T) {
	dir := t.TempDir()
	tbl := filepath.Join(dir, "access")
	os.WriteFile(tbl, []byte("192.0.2.1 REJECT\nexample.com OK\n"), 0o644)
	if _, err := maps.Build(tbl, "hash:"+tbl); err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp4", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	u, _ := user.Current()
	main := fmt.Sprintf("queue_directory = %s/q\ndata_directory = %s/d\nmail_owner = %s\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"+
		"mynetworks = 127.0.0.0/8\nsmtpd_recipient_restrictions = permit_mynetworks, reject\nsmtpd_client_restrictions = check_client_access hash:%s\ntransport_maps = hash:%s\nalias_maps = hash:%s\n", dir, dir, u.Username, tbl, tbl, tbl)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte(fmt.Sprintf("%d inet n - n - - smtpd\n", port)), 0o644)
	ready := make(chan struct{})
	var once sync.Once
	d := &Daemon{Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func() { once.Do(func() { close(ready) }) }}
	errc := make(chan error, 1)
	go func() { errc <- d.Run(context.Background()) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("not ready after 60 s")
	}
	defer func() {
		d.Stop(5 * time.Second)
		<-errc
	}()
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("cannot count open files: %v", err)
		}
		return len(ents)
	}
	if err := d.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	runtime.GC()
	before := fds()
	const n = 20
	for range n {
		if err := d.Reload(context.Background()); err != nil {
			t.Fatalf("reload: %v", err)
		}
		// A session uses (and then retires) each generation's tables.
		s := dialSMTP(t, port)
		s.transaction(t)
		s.quit(t)
	}
	t.Logf("before %d, after %d reloads without GC %d", before, n, fds())
	deadline := time.Now().Add(60 * time.Second)
	for {
		runtime.GC()
		now := fds()
		if now < before+n/2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d open files after %d reloads, %d before", now, n, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
