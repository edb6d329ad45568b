package syslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzParse: any bytes are either an event whose original is valid JSON
// with a hostname, or errMalformed; never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<165>1 2026-03-04T05:00:00.123Z rtr1 ifmgr 42 LINK [ex@1 a="1"] Gi0/1 down`,
		`<34>Oct 11 22:14:15 mymachine su[77]: 'su root' failed`,
		`<189>269614: *Apr 11 10:02:08.123: %LINEPROTO-5-UPDOWN: Line protocol up`,
		`<11>1 - - - - - -`, "<13>\xff\xfe", "", "<0>", `<13>1 - h a p m [x@1 a="\]"]`,
	} {
		f.Add([]byte(s))
	}
	p := newParser(time.UTC)
	src := netip.MustParseAddr("192.0.2.1")
	f.Fuzz(func(t *testing.T, raw []byte) {
		pm, err := p.parse(raw, src, time.Now())
		if err != nil {
			require.ErrorIs(t, err, errMalformed)
			return
		}
		env, err := pm.envelope(src.String(), "source_ip")
		require.NoError(t, err)
		require.True(t, json.Valid(env.Original))
		require.NotEmpty(t, env.Hostname)
		require.LessOrEqual(t, len(env.Hostname), maxHostname)
		require.True(t, utf8.ValidString(env.Message))
		require.NotNil(t, env.Severity)
		require.True(t, *env.Severity >= 0 && *env.Severity <= 7)
	})
}

// FuzzFrames: any byte stream is split into frames no longer than the
// limit, or a frame error; never a panic or an endless loop.
func FuzzFrames(f *testing.F) {
	for _, s := range []string{"5 hello3 abc", "<13>a\n<13>b\n", "99999999999 x", "12 short", "\n\r\x00<1>x", "0 x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		fr := newFrameReader(bytes.NewReader(stream), 64)
		for range len(stream) + 1 {
			frame, err := fr.next()
			var fe *frameError
			switch {
			case err == nil:
				require.LessOrEqual(t, len(frame), 64)
				require.NotEmpty(t, frame)
			case errors.As(err, &fe):
				require.LessOrEqual(t, len(fe.raw), 64)
				if fe.fatal {
					return
				}
			default:
				require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
				return
			}
		}
		t.Fatalf("more frames than bytes in %q", stream)
	})
}

func TestFrames(t *testing.T) {
	t.Parallel()
	in := "5 hello<13>line one\r\n\n<13>line two\n11 <13>counted" + "19 <13>too long for it" + "<13>last without LF"
	fr := newFrameReader(bytes.NewReader([]byte(in)), 16)
	var got []string
	var errs []string
	for {
		b, err := fr.next()
		var fe *frameError
		if errors.As(err, &fe) {
			errs = append(errs, fe.reason+":"+string(fe.raw))
			continue
		}
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		got = append(got, string(b))
	}
	// A CR before the LF stays (the parser trims it); an empty line is no frame.
	require.Equal(t, []string{"hello", "<13>line one\r", "<13>line two", "<13>counted"}, got)
	// Both oversized frames keep their first 16 bytes, and reading goes on.
	require.Equal(t, []string{"too_large:<13>too long for", "too_large:<13>last without"}, errs)
}
