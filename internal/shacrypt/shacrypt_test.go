package shacrypt

import (
	"strings"
	"testing"
)

// The test vectors of the specification ("Unix crypt using SHA-256 and
// SHA-512", Ulrich Drepper), including its bounds: a salt cut to 16
// characters, rounds=10 raised to 1000.
var specVectors = []struct{ setting, key, want string }{
	{"$5$saltstring", "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
	{"$5$rounds=10000$saltstringsaltstring", "Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
	{"$5$rounds=5000$toolongsaltstring", "This is just a test", "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
	{"$5$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.", "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
	{"$5$rounds=77777$short", "we have a short salt string but not a short password", "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"},
	{"$5$rounds=123456$asaltof16chars..", "a short string", "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD"},
	{"$5$rounds=10$roundstoolow", "the minimum number is still observed", "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"},
	{"$6$saltstring", "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"$6$rounds=10000$saltstringsaltstring", "Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"$6$rounds=5000$toolongsaltstring", "This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
	{"$6$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.", "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
	{"$6$rounds=77777$short", "we have a short salt string but not a short password", "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
	{"$6$rounds=123456$asaltof16chars..", "a short string", "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
	{"$6$rounds=10$roundstoolow", "the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
}

func TestSpecVectors(t *testing.T) {
	for _, v := range specVectors {
		got, err := Crypt([]byte(v.key), v.setting)
		if err != nil || got != v.want {
			t.Errorf("Crypt(%q, %q) = %q, %v; want %q", v.key, v.setting, got, err, v.want)
			continue
		}
		h, err := Parse(v.want)
		if err != nil {
			t.Fatalf("Parse(%q): %v", v.want, err)
		}
		if !h.Verify([]byte(v.key)) || h.Verify([]byte(v.key+"x")) || h.Verify(nil) {
			t.Errorf("Verify of %q does not tell the right key from wrong ones", v.want)
		}
		if h.String() != v.want {
			t.Errorf("String() = %q, want %q", h.String(), v.want)
		}
	}
}

func TestParseRoundsAndErrors(t *testing.T) {
	tests := []struct {
		in         string
		rounds     int
		custom     bool
		errContain string
	}{
		{"$6$salt", DefaultRounds, false, ""},
		{"$6$rounds=999$salt", MinRounds, true, ""},
		{"$6$rounds=1000$salt", 1000, true, ""},
		{"$6$rounds=999999999$salt", MaxRounds, true, ""},
		{"$6$rounds=1000000000$salt", MaxRounds, true, ""},
		{"$6$rounds=99999999999999999999999$salt", 0, false, "not a number"},
		{"$6$rounds=$salt", 0, false, "not a number"},
		{"$6$rounds=-5$salt", 0, false, "not a number"},
		{"$6$rounds=+5$salt", 0, false, "not a number"},
		{"$6$rounds=5000", 0, false, "not followed by $"},
		{"$1$salt$x", 0, false, "must begin with"},
		{"$6$salt$tooshort", 0, false, "characters, not 86"},
		{"$5$salt$" + strings.Repeat("*", 43), 0, false, "outside"},
	}
	for _, tt := range tests {
		h, err := Parse(tt.in)
		if tt.errContain != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errContain) {
				t.Errorf("Parse(%q) error %v, want one containing %q", tt.in, err, tt.errContain)
			}
			continue
		}
		if err != nil || h.Rounds != tt.rounds || h.Custom != tt.custom {
			t.Errorf("Parse(%q) = rounds %d custom %v err %v; want %d %v", tt.in, h.Rounds, h.Custom, err, tt.rounds, tt.custom)
		}
	}
}
