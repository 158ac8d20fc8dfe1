package master

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The daemon in-process, under the race detector: connections accepted
// while the configuration is reloaded and while it stops.
func TestDaemonReloadWhileServing(t *testing.T) {
	dir := t.TempDir()
	l, _ := net.Listen("tcp4", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	u, _ := user.Current()
	main := fmt.Sprintf("queue_directory = %s/q\ndata_directory = %s/d\nmail_owner = %s\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n", dir, dir, u.Username)
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
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				bufio.NewReader(c).ReadString('\n')
				fmt.Fprintf(c, "QUIT\r\n")
				c.Close()
			}
		}()
	}
	for i := 0; i < 10; i++ {
		if err := d.Reload(context.Background()); err != nil {
			t.Fatalf("reload: %v", err)
		}
		_ = d.status()
	}
	wg.Wait()
	d.Stop(5 * time.Second)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
