package gateway

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// Strict HTTP/1 framing. net/http's parser is lenient where a front door
// must not be: it reads a bare LF as a line end, and a proxy and a backend
// that disagree on where a request ends are how requests get smuggled. This
// wrapper reads every byte a client sends on a plain-HTTP connection, ahead
// of net/http, and refuses (400, connection closed) a request head that:
//
//   - ends a line with LF alone, or folds a header onto the next line;
//   - has a header name that is not a token (spaces, control characters,
//     a space before the colon);
//   - has a request line that is not METHOD SP target SP HTTP/1.0|1.1;
//   - carries more than one Content-Length, one that is not digits, a
//     Transfer-Encoding other than a single "chunked", or both.
//
// To find where the next request starts it follows each body (by length or
// chunk by chunk). The connection passes through once the gateway has
// answered an Upgrade with 101 (or a CONNECT with 200), seen on the write
// side: a request that only asks for an upgrade does not end the checks,
// or an Upgrade header would switch them off for whatever follows. TLS listeners are not wrapped: net/http needs the
// *tls.Conn itself to negotiate HTTP/2, whose framing is binary.

// errStrict ends a connection whose framing was refused; errCoding one
// whose request uses a well-formed transfer coding other than a lone
// "chunked", which the gateway does not implement (501, as Envoy answers).
var (
	errStrict = errors.New("gateway: request framing refused")
	errCoding = errors.New("gateway: transfer coding not implemented")
)

type framing int

const (
	inHead framing = iota
	inBody         // remaining bytes of a Content-Length body
	inChunkSize
	inChunkData
	inChunkCRLF
	inTrailers
	passThrough
)

// maxHeadBytes bounds the head the validator buffers; net/http enforces
// the configured (smaller) limit itself with 431.
const maxHeadBytes = 1 << 20

type strictConn struct {
	net.Conn
	mu      sync.Mutex
	st      framing
	head    []byte // the current head, or chunk-size or trailer line
	left    int64  // body or chunk bytes left
	refused bool
	cause   error // errStrict or errCoding
	// switching is the status line prefix that, written back, means the
	// last request's Upgrade or CONNECT was accepted
	switching string
}

// Write watches responses for the one that switches protocols.
func (c *strictConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.switching != "" && bytes.HasPrefix(p, []byte("HTTP/1.")) {
		if bytes.HasPrefix(p, []byte(c.switching)) {
			c.st = passThrough
		}
		c.switching = ""
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

type strictListener struct{ net.Listener }

func (l strictListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &strictConn{Conn: c}, nil
}

func (c *strictConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	refused := c.refused
	c.mu.Unlock()
	if refused {
		return 0, errStrict
	}
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scan(p[:n]) {
		if c.cause == nil {
			c.cause = errStrict
		}
		// Anything pipelined ahead of the refused head in this read is
		// dropped with it: the connection is no longer trusted.
		c.refused = true
		c.refuse()
		return 0, errStrict
	}
	return n, err
}

// refuse answers on the raw connection and closes it.
func (c *strictConn) refuse() {
	status, body := "400 Bad Request", `{"type":"https://raygate.dev/problems/bad-framing","title":"Bad Request","status":400,"detail":"the request's framing is ambiguous or malformed"}`+"\n"
	if c.cause == errCoding {
		status, body = "501 Not Implemented", `{"type":"https://raygate.dev/problems/transfer-coding","title":"Not Implemented","status":501,"detail":"transfer codings other than a lone chunked are not implemented"}`+"\n"
	}
	io.WriteString(c.Conn, "HTTP/1.1 "+status+"\r\nContent-Type: application/problem+json\r\nConnection: close\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body)
	c.Conn.Close()
}

// scan follows the framing through b and reports whether it must be refused.
func (c *strictConn) scan(b []byte) (bad bool) {
	for i := 0; i < len(b); {
		switch c.st {
		case passThrough:
			return false
		case inBody:
			k := int64(len(b) - i)
			if k >= c.left {
				i += int(c.left)
				c.left, c.st = 0, inHead
				continue
			}
			c.left -= k
			return false
		case inChunkData:
			k := int64(len(b) - i)
			if k >= c.left {
				i += int(c.left)
				c.left, c.st = 0, inChunkCRLF
				continue
			}
			c.left -= k
			return false
		}
		// line-oriented states
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			c.head = append(c.head, b[i:]...)
			if len(c.head) > maxHeadBytes {
				return true
			}
			return false
		}
		c.head = append(c.head, b[i:i+j+1]...)
		i += j + 1
		line := c.head
		if c.st != inHead {
			c.head = c.head[:0]
		}
		switch c.st {
		case inHead:
			if len(line) < 2 || line[len(line)-2] != '\r' {
				if len(line) == 1 && len(bytes.TrimSpace(c.head)) == 0 {
					// a bare LF before any request: net/http skips it, so do we
					c.head = c.head[:0]
					continue
				}
				return true
			}
			if !bytes.HasSuffix(c.head, []byte("\r\n\r\n")) {
				if len(c.head) == 2 { // CRLF before a request is ignored
					c.head = c.head[:0]
				}
				continue
			}
			next, err := checkHead(c.head)
			c.head = c.head[:0]
			if err != nil {
				c.cause = err
				return true
			}
			c.st, c.left, c.switching = next.st, next.left, next.switching
			if c.st == inBody && c.left == 0 {
				c.st = inHead
			}
		case inChunkSize:
			size, err := chunkSize(line)
			if err != nil {
				return true
			}
			if size == 0 {
				c.st = inTrailers
			} else {
				c.st, c.left = inChunkData, size
			}
		case inChunkCRLF:
			if string(line) != "\r\n" {
				return true
			}
			c.st = inChunkSize
		case inTrailers:
			if len(line) < 2 || line[len(line)-2] != '\r' {
				return true
			}
			if len(line) == 2 {
				c.st = inHead
			}
		}
	}
	return false
}

type next struct {
	st        framing
	left      int64
	switching string // see strictConn.switching
}

// isToken reports whether s is an RFC 9110 token (a method, a header name,
// a transfer coding).
func isToken(s string) bool { return httpguts.ValidHeaderFieldName(s) }

// checkHead validates one complete head (ending in CRLF CRLF) and says
// what follows it.
func checkHead(head []byte) (next, error) {
	lines := strings.Split(string(head[:len(head)-4]), "\r\n")
	rl := strings.Split(lines[0], " ")
	if len(rl) != 3 || !isToken(rl[0]) || rl[1] == "" || (rl[2] != "HTTP/1.1" && rl[2] != "HTTP/1.0") {
		return next{}, errStrict
	}
	var cl, te []string
	switching := ""
	if rl[0] == "CONNECT" {
		switching = "HTTP/1.1 200 "
	}
	for _, l := range lines[1:] {
		if strings.ContainsRune(l, '\n') {
			return next{}, errStrict // a bare LF inside a CRLF line
		}
		colon := strings.IndexByte(l, ':')
		if colon <= 0 || !isToken(l[:colon]) {
			return next{}, errStrict // folded line, or a name that is not a token
		}
		v := strings.Trim(l[colon+1:], " \t")
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return next{}, errStrict
			}
		}
		switch strings.ToLower(l[:colon]) {
		case "content-length":
			cl = append(cl, v)
		case "transfer-encoding":
			te = append(te, v)
		case "upgrade":
			switching = "HTTP/1.1 101 "
		}
	}
	switch {
	case len(te) > 0 && len(cl) > 0, len(cl) > 1:
		return next{}, errStrict
	case len(te) == 1 && strings.EqualFold(te[0], "chunked") && rl[2] == "HTTP/1.1":
		return next{st: inChunkSize, switching: switching}, nil
	case len(te) > 0:
		if rl[2] == "HTTP/1.1" && codingList(te) {
			return next{}, errCoding
		}
		return next{}, errStrict
	case len(cl) == 1:
		n, err := strconv.ParseInt(cl[0], 10, 64)
		if err != nil || n < 0 || strings.TrimLeft(cl[0], "0123456789") != "" {
			return next{}, errStrict
		}
		return next{st: inBody, left: n, switching: switching}, nil
	}
	return next{st: inHead, switching: switching}, nil
}

// codingList reports whether the Transfer-Encoding values are a
// well-formed list of codings, each a token with optional ;parameters.
func codingList(values []string) bool {
	for _, v := range values {
		for _, coding := range strings.Split(v, ",") {
			parts := strings.Split(coding, ";")
			if !isToken(strings.Trim(parts[0], " \t")) {
				return false
			}
			for _, p := range parts[1:] {
				if p = strings.Trim(p, " \t"); p != "" && !isToken(strings.SplitN(p, "=", 2)[0]) {
					return false
				}
			}
		}
	}
	return true
}

// chunkSize parses a chunk-size line: hex digits, optional extensions, CRLF.
func chunkSize(line []byte) (int64, error) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, errStrict
	}
	s := string(line[:len(line)-2])
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimRight(s, " \t")
	if s == "" || len(s) > 15 {
		return 0, errStrict
	}
	n, err := strconv.ParseInt(s, 16, 64)
	if err != nil || n < 0 {
		return 0, errStrict
	}
	return n, nil
}
