package main

// Until internal/sdnotify lands these do nothing.
func notifyReady()     {}
func notifyReloading() {}
func notifyStopping()  {}
