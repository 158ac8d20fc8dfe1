package straycrlf

import (
	"bytes"
	"testing"
)

// The Writer gives what Replace gives for the whole content, however it
// is split into writes: a <CR><LF> split between two writes stays, a
// <CR> at the end of the content is stray.
func TestWriter(t *testing.T) {
	for _, c := range cases {
		for _, size := range []int{1, 2, 3, len(c.in) + 1} {
			var out bytes.Buffer
			z := NewWriter(&out)
			for i := 0; i < len(c.in); i += size {
				p := []byte(c.in[i:min(i+size, len(c.in))])
				if n, err := z.Write(p); err != nil || n != len(p) {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			if err := z.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("writes of %d: %q gives %q, want %q", size, c.in, out.String(), c.want)
			}
		}
	}
}

// FuzzWriter: any content, any write size, the rule for the whole.
func FuzzWriter(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c.in), uint8(2))
	}
	f.Fuzz(func(t *testing.T, in []byte, size uint8) {
		n := int(size%13) + 1
		var out bytes.Buffer
		z := NewWriter(&out)
		for i := 0; i < len(in); i += n {
			z.Write(in[i:min(i+n, len(in))])
		}
		z.Flush()
		if want := reference(in); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("%q: %q, want %q", in, out.Bytes(), want)
		}
	})
}
