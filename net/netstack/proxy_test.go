package netstack_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"
)

// TestFullDuplexProxyOverNetstack runs a reverse proxy on one stack and an
// echo backend on the other, and streams a body up and back at once: both
// directions of both connections are busy together.
func TestFullDuplexProxyOverNetstack(t *testing.T) {
	a, b := pair(t)

	backendLn, err := b.Listen(":9000")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(backendLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		io.Copy(w, r.Body)
	}))
	defer backendLn.Close()

	proxyLn, err := a.Listen(":80")
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: "10.0.0.2:9000"})
	rp.Transport = &http.Transport{DialContext: a.DialContext}
	rp.ErrorLog = nil
	go http.Serve(proxyLn, rp)
	defer proxyLn.Close()

	client := &http.Client{Transport: &http.Transport{DialContext: b.DialContext}, Timeout: 30 * time.Second}
	for _, size := range []int{256 << 10, 4 << 20} {
		up := make([]byte, size)
		rand.Read(up)
		resp, err := client.Post("http://10.0.0.1:80/echo", "application/octet-stream", bytes.NewReader(up))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, up) {
			t.Fatalf("size %d: got %d bytes back, err %v", size, len(got), err)
		}
	}
}
