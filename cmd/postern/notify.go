package main

import (
	"fmt"
	"os"

	"github.com/postern-mta/postern/internal/sdnotify"
)

// These tell systemd (Type=notify-reload) what the daemon is doing; they
// do nothing outside systemd. A failure to notify is worth a line on
// stderr, never a reason to stop serving mail.
func notify(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "postern: warning: %v\n", err)
	}
}

func notifyReady()     { notify(sdnotify.Ready()) }
func notifyReloading() { notify(sdnotify.Reloading()) }
func notifyStopping()  { notify(sdnotify.Stopping()) }

// notifyReloadFailed reports a refused reload; READY=1 ends systemd's
// wait for the reload, STATUS says why the old configuration still runs.
func notifyReloadFailed(err error) {
	notify(sdnotify.Status("reload refused, running the previous configuration: " + err.Error()))
	notify(sdnotify.Ready())
}
