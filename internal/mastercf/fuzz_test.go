package mastercf

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParse checks that no input makes the parser or the printers panic,
// and that entries without diagnostics read back to the same services
// from their postconf -M and -Mf forms.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.master.cf")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(string(data))
		}
	}
	f.Add(Default())
	f.Fuzz(func(t *testing.T, data string) {
		file, diags := Parse("master.cf", data)
		for _, o := range []Options{{}, {Fold: true}, {HideName: true}, {Fold: true, HideName: true}} {
			file.WriteEntries(io.Discard, o)
			file.WriteFields(io.Discard, o)
			file.WriteParams(io.Discard, o)
		}
		// Entries without diagnostics must survive printing and reading
		// back, and must not pick up diagnostics on the way.
		bad := map[int]bool{}
		for _, d := range diags {
			bad[d.Line] = true
		}
		var clean []*Service
		for _, s := range file.Services {
			if !bad[s.Line] {
				clean = append(clean, s)
			}
		}
		for _, fold := range []bool{false, true} {
			var printed string
			for _, s := range clean {
				printed += s.Entry(fold)
			}
			again, diags := Parse("master.cf", printed)
			if len(diags) != 0 {
				t.Fatalf("printed form (fold %v) has diagnostics %v:\n%s", fold, diags, printed)
			}
			if !sameServices(clean, again.Services) {
				t.Fatalf("printed form (fold %v) reads back differently:\n%q\n%q", fold, data, printed)
			}
		}
	})
}

func sameServices(a, b []*Service) bool {
	return slices.EqualFunc(a, b, func(x, y *Service) bool {
		return slices.Equal(x.columns(), y.columns()) && slices.Equal(x.Args, y.Args) &&
			slices.Equal(x.Overrides, y.Overrides)
	})
}
