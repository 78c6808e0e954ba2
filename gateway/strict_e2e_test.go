package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStrictFramingOverTCP: pipelined and byte-at-a-time requests go
// through the strict validator untouched; a malformed head after good ones
// gets a 400 problem and a closed connection.
func TestStrictFramingOverTCP(t *testing.T) {
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\n"+svcYAML(backend(t, "b")))
	const get = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	const post = "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\nX-T: 1\r\n\r\n"

	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c, bufio.NewReader(c)
	}
	read := func(br *bufio.Reader) int {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	// three pipelined requests in one write
	c, br := dial()
	io.WriteString(c, get+post+get)
	for i := range 3 {
		if st := read(br); st != 200 {
			t.Fatalf("pipelined request %d: %d", i, st)
		}
	}

	// one byte per write
	for _, b := range []byte(post) {
		c.Write([]byte{b})
	}
	if st := read(br); st != 200 {
		t.Fatalf("byte-at-a-time: %d", st)
	}

	// a good request, then a bare-LF one: the first is answered, the
	// second refused and the connection closed
	c, br = dial()
	io.WriteString(c, get)
	if st := read(br); st != 200 {
		t.Fatalf("good request: %d", st)
	}
	io.WriteString(c, "GET /smuggled HTTP/1.1\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), "framing") {
		t.Fatalf("bare LF: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection still open after a refused head")
	}

	// an Upgrade header the backend does not take up (it answers 200) does
	// not switch the checks off for what follows on the connection
	c, br = dial()
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	if st := read(br); st == 101 {
		t.Fatal("the demo backend upgraded")
	}
	io.WriteString(c, "GET /smuggled HTTP/1.1\nHost: a\r\n\r\n")
	if st := read(br); st != 400 {
		t.Fatalf("bare LF after an upgrade that did not happen: %d", st)
	}
}
