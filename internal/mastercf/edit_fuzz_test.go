package mastercf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

// editModes are the combinations postconf accepts: -Me -MX -M# -Fe -Pe -PX.
var editModes = []struct {
	kind EditKind
	op   EditOp
}{
	{EditEntry, EditSet}, {EditEntry, EditRemove}, {EditEntry, EditComment},
	{EditField, EditSet}, {EditParam, EditSet}, {EditParam, EditRemove},
}

// FuzzEdit checks that no edit corrupts master.cf: every line outside
// the entries the requests name stays byte for byte and in order, and a
// file postconf reads without error still reads without error after a
// successful edit. A failed edit returns nothing to write.
func FuzzEdit(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.master.cf")
	seeds := []struct {
		mode       byte
		arg1, arg2 string
	}{
		{0, "smtp/inet=smtp inet n - n - - smtpd -o { smtpd_banner = a b }", "new/unix=new unix - - n - - foo"},
		{1, "submission/inet", "*/unix"},
		{2, "pickup/unix", "relay/*"},
		{3, "smtp/inet/chroot=n", "relay/unix/command=smtp -o {a = b} -v"},
		{4, "smtp/inet/syslog_name=x", "*/*/smtpd_banner=y"},
		{5, "submission/inet/syslog_name", "*/*/smtpd_tls_security_level"},
		{3, "submission/inet/service=#x", "relay/unix/command={ } -o a=b"},
		{3, "relay/unix/wakeup=", "relay/unix/command="},
		{0, "relay/unix=#relay unix - - - - - smtp", "x/unix=x unix - - - - - {a"},
	}
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			for _, s := range seeds {
				f.Add(string(data), s.mode, s.arg1, s.arg2)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data string, mode byte, arg1, arg2 string) {
		m := editModes[int(mode)%len(editModes)]
		args := []string{arg1, arg2}
		out, _, err := Edit("master.cf", data, m.kind, m.op, args)
		if err != nil {
			if out != "" {
				t.Fatalf("failed edit returned text: %v", err)
			}
			return
		}
		reqs, _ := parseEditRequests(m.kind, m.op, args)
		kept := untouchedLines(data, m.kind == EditEntry && m.op == EditSet, reqs)
		got := strings.SplitAfter(out, "\n")
		i := 0
		for _, l := range kept {
			for i < len(got) && strings.TrimSuffix(got[i], "\n") != strings.TrimSuffix(l, "\n") {
				i++
			}
			if i == len(got) {
				t.Fatalf("line %q of the input is lost or moved:\n--- in\n%s--- out\n%s", l, data, out)
			}
			i++
		}
		// An entry written back must stay an entry: not become a comment
		// that leaves its -o lines dangling.
		_, droppedIn := config.LogicalLines(data)
		_, droppedOut := config.LogicalLines(out)
		if len(droppedOut) > len(droppedIn) {
			t.Fatalf("edit left indented lines without an entry:\n--- in\n%s--- out\n%s", data, out)
		}
		if _, err := PostfixCheck("master.cf", data); err == nil {
			if _, err := PostfixCheck("master.cf", out); err != nil {
				t.Fatalf("edit made a readable file unreadable: %v\n--- in\n%s--- out\n%s", err, data, out)
			}
		}
	})
}

// untouchedLines are the physical lines of data that no request touches:
// comments, blank lines and the lines of entries that no request names.
func untouchedLines(data string, entrySet bool, reqs []*editReq) []string {
	var kept []string
	touched := false
	for _, l := range physicalLines(data) {
		content, continued := isContent(l)
		if !content {
			kept = append(kept, l)
			continue
		}
		if !continued {
			f := strings.FieldsFunc(l, func(r rune) bool { return strings.ContainsRune(blanks, r) })
			touched = false
			for _, r := range reqs {
				if len(f) >= 2 && matchPattern(r.pattern, f[0], f[1]) {
					touched = true
				}
				if s, _, err := PostfixEntry(r.value); entrySet && err == nil && len(f) >= 2 &&
					matchPattern([]string{s.Name, s.Type}, f[0], f[1]) {
					touched = true
				}
			}
		}
		if !touched {
			kept = append(kept, l)
		}
	}
	return kept
}
