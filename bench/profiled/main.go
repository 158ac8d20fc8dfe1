// Command profiled runs postern's daemon in the foreground, as `postern
// start-fg` does, and writes a CPU profile of it (runtime/pprof) when it
// stops: bench/run -p uses it to show where postern's time goes. It
// serves no local delivery agent process, so run it as root with
// mail_owner = root, or as an ordinary user. SIGUSR1 writes a heap
// profile to FILE.heap and the runtime's memory figures to stderr
// (bench/run -p -I: with the idle sessions held).
//
//	profiled -c DIR -cpuprofile FILE [-trace FILE]   (SIGTERM or SIGINT stops it)
//
// -trace also writes an execution trace (runtime/trace; go tool trace
// -pprof=sched FILE shows where goroutines waited for a CPU).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/master"
)

func main() {
	dir := flag.String("c", "", "postern configuration `directory`")
	profile := flag.String("cpuprofile", "", "write the CPU profile to `file`")
	traceFile := flag.String("trace", "", "also write an execution trace to `file`")
	flag.Parse()
	if *dir == "" || *profile == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *profile, *traceFile); err != nil {
		fmt.Fprintln(os.Stderr, "profiled:", err)
		os.Exit(1)
	}
}

func run(dir, profile, traceFile string) error {
	if os.Getenv("GOMAXPROCS") == "" { // as postern start-fg does (cmd/postern morePs)
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
	f, err := os.Create(profile)
	if err != nil {
		return err
	}
	defer f.Close()
	host, _ := os.Hostname()
	d := &master.Daemon{Dir: dir, Log: slog.New(maillog.New(os.Stderr, host, "postern/master", nil))}
	d.Ready = func() { fmt.Println("ready") }
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		d.Stop(30 * time.Second)
	}()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			heapProfile(profile + ".heap")
		}
	}()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("start profile: %w", err)
	}
	if traceFile != "" {
		tf, err := os.Create(traceFile)
		if err != nil {
			return err
		}
		defer tf.Close()
		if err := trace.Start(tf); err != nil {
			return fmt.Errorf("start trace: %w", err)
		}
		defer trace.Stop()
	}
	err = d.Run(context.Background())
	pprof.StopCPUProfile()
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	return f.Close()
}

// heapProfile writes the live heap's profile after a GC, and the
// runtime's figures (heap, stacks, goroutines) to stderr.
func heapProfile(path string) {
	var m runtime.MemStats
	for range 3 { // each GC halves stacks at most once
		runtime.GC()
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "profiled: after a GC: stacks %d KiB\n", m.StackInuse>>10)
	}
	fmt.Fprintf(os.Stderr, "profiled: heap alloc %d KiB, heap in use %d KiB, stacks %d KiB, sys %d KiB, %d goroutines\n",
		m.HeapAlloc>>10, m.HeapInuse>>10, m.StackInuse>>10, m.Sys>>10, runtime.NumGoroutine())
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profiled:", err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "profiled:", err)
	}
}
