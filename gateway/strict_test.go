package gateway

import (
	"net"
	"strings"
	"testing"
)

// verdict feeds a byte stream to a fresh validator in the given pieces and
// reports whether it was refused.
func verdict(stream string, piece int) bool {
	c := &strictConn{}
	for len(stream) > 0 {
		n := min(piece, len(stream))
		if c.scan([]byte(stream[:n])) {
			return true
		}
		stream = stream[n:]
	}
	return false
}

func TestStrictFraming(t *testing.T) {
	const get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	accept := map[string]string{
		"plain":            get,
		"pipelined":        get + get + get,
		"leading CRLF":     "\r\n" + get,
		"leading LF":       "\n" + get,
		"content-length":   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + get,
		"zero length":      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" + get,
		"body looks bad":   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\nGET /\nX:\n\n\n" + get,
		"chunked":          "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\n\n\n\n\r\n0\r\n\r\n" + get,
		"chunked trailers": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\nX-Sum: 10\r\n\r\n" + get,
		"expect continue":  "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc" + get,
		"http/1.0":         "GET / HTTP/1.0\r\n\r\n",
		"tab in value":     "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\tc\r\n\r\n",
	}
	refuse := map[string]string{
		"bare LF line end":      "GET / HTTP/1.1\nHost: a\r\n\r\n",
		"bare LF head end":      "GET / HTTP/1.1\r\nHost: a\r\n\n",
		"LF in value":           "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\nContent-Length: 5\r\n\r\n",
		"folded header":         "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
		"space before colon":    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello",
		"no colon":              "GET / HTTP/1.1\r\nHost: a\r\nbroken\r\n\r\n",
		"control in value":      "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
		"two lengths":           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"length list":           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
		"signed length":         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
		"length and chunked":    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"two encodings":         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"encoding list":         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"chunked on 1.0":        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"bad chunk size":        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"chunk size LF":         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
		"chunk overrun":         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
		"huge chunk size":       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
		"trailer LF":            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\n\r\n",
		"bad request line":      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
		"space in target":       "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
		"version":               "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
		"smuggled after body":   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokGET / HTTP/1.1\nHost: a\r\n\r\n",
		"second of pipeline":    get + "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"head without end":      "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxHeadBytes+1),
		"upgrade, then smuggle": "POST / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	}
	for name, s := range accept {
		for _, piece := range []int{1, 2, 7, len(s)} {
			if verdict(s, piece) {
				t.Errorf("%s (pieces of %d): refused, want accepted", name, piece)
			}
		}
	}
	for name, s := range refuse {
		for _, piece := range []int{1, 3, len(s)} {
			if !verdict(s, piece) {
				t.Errorf("%s (pieces of %d): accepted, want refused", name, piece)
			}
		}
	}
}

// FuzzStrictFraming: the verdict never depends on how the stream is split
// into reads, and scanning never panics.
func FuzzStrictFraming(f *testing.F) {
	f.Add("GET / HTTP/1.1\r\nHost: a\r\n\r\n", uint8(1))
	f.Add("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n", uint8(3))
	f.Add("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\n\n", uint8(5))
	f.Fuzz(func(t *testing.T, s string, piece uint8) {
		whole := verdict(s, len(s)+1)
		if split := verdict(s, int(piece)%16+1); split != whole {
			t.Fatalf("whole %v, in pieces of %d %v", whole, int(piece)%16+1, split)
		}
	})
}

// TestUnsupportedCodingIs501: a well-formed coding list the gateway does
// not implement is 501, a malformed one 400.
func TestUnsupportedCodingIs501(t *testing.T) {
	for te, want := range map[string]error{
		"gzip, chunked":         errCoding,
		"chunked;custom_param;": errCoding,
		"identity":              errCoding,
		"chunked, chunked":      errCoding,
		"chunked\x7f":           errStrict,
		"chun ked":              errStrict,
		"":                      errStrict,
		"chunked;=x":            errStrict,
	} {
		_, err := checkHead([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + te + "\r\n\r\n"))
		if err != want {
			t.Errorf("Transfer-Encoding %q: %v, want %v", te, err, want)
		}
	}
}

// discardConn is a net.Conn whose writes go nowhere.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

// TestStrictSwitchesOnlyWhenAnswered: after an Upgrade or CONNECT the
// connection passes through only once the gateway has written the 101 (or
// 200) that switches it; a refused upgrade keeps the checks on.
func TestStrictSwitchesOnlyWhenAnswered(t *testing.T) {
	const ws = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	const connect = "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"
	const binary = "\x81\x05\n\n\x00\x01\x02anything"
	cases := []struct {
		name, head, answer string
		refused            bool
	}{
		{"websocket accepted", ws, "HTTP/1.1 101 Switching Protocols\r\n\r\n", false},
		{"websocket refused", ws, "HTTP/1.1 403 Forbidden\r\n\r\n", true},
		{"websocket unanswered", ws, "", true},
		{"connect accepted", connect, "HTTP/1.1 200 OK\r\n\r\n", false},
		{"connect refused", connect, "HTTP/1.1 405 Method Not Allowed\r\n\r\n", true},
		{"101 without an upgrade request", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 101 Switching Protocols\r\n\r\n", true},
	}
	for _, tc := range cases {
		c := &strictConn{Conn: discardConn{}}
		if c.scan([]byte(tc.head)) {
			t.Fatalf("%s: head refused", tc.name)
		}
		if tc.answer != "" {
			c.Write([]byte(tc.answer))
		}
		if got := c.scan([]byte(binary)); got != tc.refused {
			t.Errorf("%s: bytes after the answer refused = %v, want %v", tc.name, got, tc.refused)
		}
	}
}
