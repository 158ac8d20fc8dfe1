package mastercf

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestRandomAgainstPostconf prints random but valid master.cf files in
// every postconf mode and compares with the real postconf. The generator
// aims at the fold limits and at the argument forms postconf rewrites.
func TestRandomAgainstPostconf(t *testing.T) {
	needPostconf(t)
	r := rand.New(rand.NewSource(1))
	word := func(n int) string {
		b := make([]byte, 1+r.Intn(n))
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz_"[r.Intn(27)]
		}
		return string(b)
	}
	pick := func(s ...string) string { return s[r.Intn(len(s))] }
	arg := func() string {
		switch r.Intn(12) {
		case 0:
			return "-o " + word(30) + "=" + word(60)
		case 1:
			return "-o { " + word(20) + " = " + word(20) + "  \t " + word(30) + " }"
		case 2:
			return "-vo " + word(10) + "=" + word(10)
		case 3:
			return "{" + word(10) + " " + word(10) + "}"
		case 4:
			return strings.Repeat("x", 60+r.Intn(25))
		case 5:
			return "{ " + strings.Repeat("y", r.Intn(70)) + " z }"
		case 6:
			return "-o" + word(8) + "=" + word(8)
		case 7:
			return "-o " + word(15) + "=" + strings.Repeat("v", 30+r.Intn(50))
		default:
			return pick("-v", "-D", "--", "-", "{}", "-o {a=b", "-o {a=b}c", "{{x}}", "-o =x", word(30))
		}
	}
	for iter := 0; iter < 20; iter++ {
		var b strings.Builder
		for n := 0; n < 6; n++ {
			name := word(3 + r.Intn(25))
			if r.Intn(4) == 0 {
				name = strings.Repeat("n", 40+r.Intn(40))
			}
			fmt.Fprintf(&b, "%s %s %s %s %s %s %s %s", name, pick("unix", "inet", "fifo", "pass", "unix-dgram"),
				pick("y", "n", "-"), pick("y", "n", "-"), pick("y", "n", "-"), pick("-", "60", "1000?", "0"),
				pick("-", "0", "1", "100"), pick(word(20), "ab", "pipe", strings.Repeat("c", 40+r.Intn(30))))
			for k := r.Intn(8); k > 0; k-- {
				b.WriteString(pick(" ", " ", "\n  "))
				b.WriteString(arg())
			}
			b.WriteString("\n")
		}
		f, _ := Parse("master.cf", b.String())
		for _, mode := range modes {
			want, _, err := postconf(t, b.String(), "-"+mode)
			if err != nil {
				t.Fatalf("postconf -%s: %v\n%s", mode, err, b.String())
			}
			if got, _, _ := render(t, f, mode); got != want {
				t.Fatalf("-%s differs for\n%s--- got\n%s--- want (postconf)\n%s", mode, b.String(), got, want)
			}
		}
	}
}
