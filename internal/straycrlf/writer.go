package straycrlf

import "io"

// Writer passes what is written to it on to w with stray <CR> and <LF>
// replaced as Replace does for the whole stream: a <CR> at the end of
// one write is held back until the next shows whether <LF> follows,
// and Flush, at the end of the stream, writes a held one as a space.
type Writer struct {
	w    io.Writer
	buf  []byte
	held bool
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (z *Writer) Write(p []byte) (int, error) {
	z.buf = z.buf[:0]
	if z.held {
		z.buf = append(z.buf, '\r')
	}
	z.buf = append(z.buf, p...)
	end := len(z.buf)
	z.held = end > 0 && z.buf[end-1] == '\r'
	if z.held {
		end--
	}
	Replace(z.buf[:end])
	if _, err := z.w.Write(z.buf[:end]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush ends the stream: a <CR> held back is stray, and written as a
// space.
func (z *Writer) Flush() error {
	if !z.held {
		return nil
	}
	z.held = false
	_, err := z.w.Write([]byte{' '})
	return err
}
