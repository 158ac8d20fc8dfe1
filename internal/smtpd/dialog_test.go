package smtpd_test

import (
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// TestDialogs plays every testdata/dialogs/NN-name.txt conversation
// against a fresh server: client lines in, server replies out, byte for
// byte (see smtptest.Dialog for the format).
func TestDialogs(t *testing.T) {
	files, _ := filepath.Glob("testdata/dialogs/*.txt")
	if len(files) == 0 {
		t.Fatal("no dialogs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			d, err := smtptest.ReadDialog(f)
			if err != nil {
				t.Fatal(err)
			}
			d.Run(t, d.Start(t))
		})
	}
}
