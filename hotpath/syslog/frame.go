package syslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// frameError is a frame that could not be read whole; the stream goes on
// after it when skip is set (an oversized frame whose end is known),
// otherwise the connection must be closed (framing lost).
type frameError struct {
	reason string // dead-letter reason: too_large or framing
	err    error
	raw    []byte // what was read of the frame (at most the size limit)
	fatal  bool
}

func (e *frameError) Error() string { return e.err.Error() }

// maxCountDigits bounds the MSG-LEN of octet counting (RFC 6587 3.4.1); nine
// digits are far above any size limit and cannot overflow an int.
const maxCountDigits = 9

// frameReader splits a TCP byte stream into syslog messages (RFC 6587).
// Each frame is detected on its own: a leading digit is octet counting
// ("MSG-LEN SP MSG"), anything else is non-transparent framing ended by LF
// (a trailing CR or NUL is removed later by the parser). Per-frame
// detection also reads connections whose sender switches or mixes framings.
type frameReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

func newFrameReader(r io.Reader, maxLen int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), max: maxLen}
}

// next returns the next message; the slice is valid until the next call.
// io.EOF is a clean end between frames; a *frameError is a bad frame.
func (f *frameReader) next() ([]byte, error) {
	var c byte
	for {
		b, err := f.r.ReadByte()
		if err != nil {
			return nil, err
		}
		// Stray line ends between frames (a sender ending octet-counted
		// frames with LF as well) are not messages.
		if b != '\n' && b != '\r' && b != 0 {
			c = b
			break
		}
	}
	if c >= '1' && c <= '9' {
		return f.counted(c)
	}
	return f.delimited(c)
}

func (f *frameReader) counted(first byte) ([]byte, error) {
	n := int(first - '0')
	digits := 1
	for {
		b, err := f.r.ReadByte()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		if b == ' ' {
			break
		}
		if b < '0' || b > '9' || digits == maxCountDigits {
			return nil, &frameError{reason: "framing", fatal: true,
				err: fmt.Errorf("octet counting: bad MSG-LEN byte %q after %d digits", b, digits)}
		}
		n = n*10 + int(b-'0')
		digits++
	}
	keep := min(n, f.max)
	f.buf = f.buf[:0]
	f.buf = append(f.buf, make([]byte, keep)...)
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return nil, unexpectedEOF(err)
	}
	if n > f.max {
		if _, err := f.r.Discard(n - f.max); err != nil {
			return nil, unexpectedEOF(err)
		}
		return nil, &frameError{reason: "too_large", raw: f.buf,
			err: fmt.Errorf("message of %d bytes is larger than the limit of %d (MUTT_SYSLOG_MAX_MESSAGE_BYTES)", n, f.max)}
	}
	return f.buf, nil
}

func (f *frameReader) delimited(first byte) ([]byte, error) {
	f.buf = append(f.buf[:0], first)
	total := 1 // bytes of the frame without its LF
	for {
		line, err := f.r.ReadSlice('\n')
		body := line
		if err == nil {
			body = line[:len(line)-1]
		}
		total += len(body)
		if room := f.max - len(f.buf); room > 0 {
			f.buf = append(f.buf, body[:min(len(body), room)]...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return nil, err
		case total > f.max:
			return nil, &frameError{reason: "too_large", raw: f.buf,
				err: fmt.Errorf("line of %d bytes is longer than the limit of %d (MUTT_SYSLOG_MAX_MESSAGE_BYTES)", total, f.max)}
		}
		// At EOF a last message without its LF is still a message.
		return f.buf, nil
	}
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
