package gateway

import (
	"io"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
)

// responseWriter records the status and bytes sent. It unwraps to the
// server's writer, so http.ResponseController (flush, hijack for upgrades,
// full duplex, deadlines) reaches the real connection.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher, which the reverse proxy uses directly for
// streamed responses.
func (w *responseWriter) Flush() {
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bufferPool recycles the proxy's 32 KiB copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// newDiscardLogger silences httputil's own log lines: every failure goes
// through the gateway's error sink and its observers instead.
func newDiscardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// countingBody counts the request body bytes read (for metrics); the
// transport may read it on its own goroutine, hence the atomic.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
