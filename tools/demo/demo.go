// Package demo is the small backend behind the demo configuration: it
// answers with what it received, so a person (or a test) can see what the
// gateway forwarded. It is used by `raygate -demo`, `make qemu` and tests.
package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// MaxStreamBytes bounds /stream so a typo cannot make the backend emit
// gigabytes.
const MaxStreamBytes = 1 << 30

// Backend answers:
//
//	GET  /stream?bytes=N  N bytes of a repeating pattern
//	POST /echo            the request body, unchanged
//	anything else         a JSON description of the request
type Backend struct {
	// Name identifies the instance in answers.
	Name string
}

// Echo is the JSON a Backend answers with.
type Echo struct {
	Instance string            `json:"instance"`
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	Query    string            `json:"query,omitempty"`
	Host     string            `json:"host"`
	Headers  map[string]string `json:"headers"`
	Bytes    int64             `json:"body_bytes"`
}

func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Instance", b.Name)
	switch {
	case strings.HasSuffix(r.URL.Path, "/stream"):
		n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
		if err != nil || n < 0 || n > MaxStreamBytes {
			http.Error(w, "bytes must be 0.."+strconv.Itoa(MaxStreamBytes), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		pattern := make([]byte, 32<<10)
		for i := range pattern {
			pattern[i] = byte('a' + i%26)
		}
		for n > 0 {
			k := min(n, int64(len(pattern)))
			if _, err := w.Write(pattern[:k]); err != nil {
				return
			}
			n -= k
		}
	case strings.HasSuffix(r.URL.Path, "/echo") && r.Method == http.MethodPost:
		// Echo while still reading: without full duplex the server closes
		// the request body once the response starts.
		http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		io.Copy(w, r.Body)
	default:
		n, _ := io.Copy(io.Discard, r.Body)
		e := Echo{Instance: b.Name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host,
			Headers: map[string]string{}, Bytes: n}
		for k := range r.Header {
			e.Headers[k] = r.Header.Get(k)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(e)
	}
}

// Serve starts a Backend named name on address and returns its listener;
// closing the listener stops it.
func Serve(name, address string) (net.Listener, error) {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("demo backend %s: %v", name, err)
	}
	go http.Serve(ln, &Backend{Name: name})
	return ln, nil
}
