package virtual

import (
	"context"
	"testing"
)

// BenchmarkMaildir: one queued message to one virtual Maildir per
// iteration (as root: on a thread with the owner's rights each time).
func BenchmarkMaildir(b *testing.B) {
	a := newEnv(b).agent()
	for b.Loop() {
		req := request(testBody, "alice@v.test")
		if r := a.Deliver(context.Background(), req)[0]; r.Reason != "delivered to maildir" {
			b.Fatal(r.Reason)
		}
	}
}
