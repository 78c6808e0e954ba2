// Package problem writes RFC 9457 problem details (application/problem+json),
// the one shape of every error the gateway itself generates. Bodies never
// echo request data that could hold credentials.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Details is an RFC 9457 problem object.
type Details struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// TypeBase prefixes the stable type URIs of raygate's problems.
const TypeBase = "https://raygate.dev/problems/"

// Write sends a problem response with the given status. kind is the stable,
// machine-readable slug ("no-route", "bad-gateway", ...).
func Write(w http.ResponseWriter, r *http.Request, status int, kind, detail string) {
	d := Details{
		Type:   TypeBase + kind,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	}
	if r != nil {
		d.RequestID = r.Header.Get("X-Request-Id")
	}
	body, _ := json.Marshal(d)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
