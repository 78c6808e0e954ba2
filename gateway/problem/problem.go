// Package problem writes RFC 9457 problem details (application/problem+json),
// the one shape of every error the gateway itself generates. Bodies never
// echo request data that could hold credentials.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
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

// New returns the details of a problem. kind is the stable,
// machine-readable slug ("no-route", "bad-gateway", ...).
func New(r *http.Request, status int, kind, detail string) Details {
	d := Details{
		Type:   TypeBase + kind,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	}
	if r != nil {
		d.RequestID = r.Header.Get("X-Request-Id")
	}
	return d
}

// Kind returns the slug of d's type.
func (d Details) Kind() string { return strings.TrimPrefix(d.Type, TypeBase) }

// Write sends a problem response with the given status.
func Write(w http.ResponseWriter, r *http.Request, status int, kind, detail string) {
	WriteDetails(w, New(r, status, kind, detail), nil)
}

// WriteDetails sends d, with extension members (RFC 9457 §3.2) such as a
// list of violations; an extension never replaces a standard member.
func WriteDetails(w http.ResponseWriter, d Details, ext map[string]any) {
	var body []byte
	if len(ext) == 0 {
		body, _ = json.Marshal(d)
	} else {
		m := make(map[string]any, len(ext)+6)
		for k, v := range ext {
			m[k] = v
		}
		std, _ := json.Marshal(d)
		var members map[string]any
		json.Unmarshal(std, &members)
		for k, v := range members {
			m[k] = v
		}
		body, _ = json.Marshal(m)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Encoding")
	w.WriteHeader(d.Status)
	w.Write(append(body, '\n'))
}
