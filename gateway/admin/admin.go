// Package admin is the gateway's admin HTTP API, served on its own listener
// (loopback, or any address with a bearer token). It reads and changes
// routes and services through the gateway's operations layer, the same one
// the console uses, and reads health and status.
//
//	GET    /admin/status              totals
//	GET    /admin/routes              routes, in declared order
//	POST   /admin/routes              add a route (JSON or YAML body)
//	DELETE /admin/routes/{name}       remove a route
//	GET    /admin/services            services with their instances
//	POST   /admin/services            add or replace a service
//	DELETE /admin/services/{name}     remove a service
//	POST   /admin/services/{name}/instances                 {"address": "10.0.0.2:9002", "weight": 1}
//	DELETE /admin/services/{name}/instances/{addr}          drain and remove
//	PUT    /admin/services/{name}/strategy                  {"strategy": "least_conn"}
//	PUT    /admin/services/{name}/instances/{addr}/weight   {"weight": 3}
//	POST   /admin/services/{name}/instances/{addr}/drain|enable|disable
//	GET    /admin/health              per-instance health
//	GET    /admin/config              the running configuration (YAML, secrets redacted)
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/balance"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/problem"
)

// maxBody bounds a request body to the admin API.
const maxBody = 1 << 20

// Mount adds a subsystem's endpoints (under /admin/<subsystem>/) to the API.
type Mount func(mux *http.ServeMux)

// Handler returns the admin API for g and the subsystems' mounts. With a
// non-empty token every request must carry "Authorization: Bearer <token>".
func Handler(g *gateway.Gateway, token string, mounts ...Mount) http.Handler {
	mux := http.NewServeMux()
	for _, m := range mounts {
		m(mux)
	}
	mux.HandleFunc("GET /admin/status", func(w http.ResponseWriter, r *http.Request) {
		st := g.Stats()
		WriteJSON(w, http.StatusOK, map[string]any{
			"uptime_seconds": st.Uptime.Seconds(), "requests": st.Requests, "errors": st.Errors,
			"in_flight": st.InFlight, "routes": st.Routes, "services": st.Services, "config_version": st.Version,
		})
	})
	mux.HandleFunc("GET /admin/routes", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, g.Routes())
	})
	mux.HandleFunc("POST /admin/routes", func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		rt, err := config.ParseRoute(body)
		if err == nil {
			err = g.AddRoute(rt)
		}
		result(w, r, err, http.StatusCreated)
	})
	mux.HandleFunc("DELETE /admin/routes/{name}", func(w http.ResponseWriter, r *http.Request) {
		result(w, r, g.RemoveRoute(r.PathValue("name")), http.StatusOK)
	})
	mux.HandleFunc("GET /admin/services", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, g.Services())
	})
	mux.HandleFunc("POST /admin/services", func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		s, err := config.ParseService(body)
		if err == nil {
			err = g.AddService(s)
		}
		result(w, r, err, http.StatusCreated)
	})
	mux.HandleFunc("DELETE /admin/services/{name}", func(w http.ResponseWriter, r *http.Request) {
		result(w, r, g.RemoveService(r.PathValue("name")), http.StatusOK)
	})
	mux.HandleFunc("PUT /admin/services/{name}/strategy", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Strategy string `json:"strategy"`
		}
		if !ReadJSON(w, r, &req) {
			return
		}
		result(w, r, g.SetStrategy(r.PathValue("name"), req.Strategy), http.StatusOK)
	})
	mux.HandleFunc("PUT /admin/services/{name}/instances/{addr}/weight", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Weight *int `json:"weight"`
		}
		if !ReadJSON(w, r, &req) {
			return
		}
		if req.Weight == nil || *req.Weight < 0 || *req.Weight > 1000 {
			problem.Write(w, r, http.StatusBadRequest, "invalid", "weight must be 0..1000")
			return
		}
		result(w, r, g.SetWeight(r.PathValue("name"), r.PathValue("addr"), *req.Weight), http.StatusOK)
	})
	mux.HandleFunc("POST /admin/services/{name}/instances", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Address string `json:"address"`
			Weight  *int   `json:"weight"`
		}
		if !ReadJSON(w, r, &req) {
			return
		}
		weight := 1
		if req.Weight != nil {
			weight = *req.Weight
		}
		result(w, r, g.AddInstance(r.PathValue("name"), req.Address, weight), http.StatusCreated)
	})
	mux.HandleFunc("DELETE /admin/services/{name}/instances/{addr}", func(w http.ResponseWriter, r *http.Request) {
		result(w, r, g.RemoveInstance(r.PathValue("name"), r.PathValue("addr")), http.StatusOK)
	})
	mux.HandleFunc("POST /admin/services/{name}/instances/{addr}/{action}", func(w http.ResponseWriter, r *http.Request) {
		switch a := r.PathValue("action"); a {
		case "drain", "enable", "disable":
			result(w, r, g.SetInstanceState(r.PathValue("name"), r.PathValue("addr"), a), http.StatusOK)
		default:
			problem.Write(w, r, http.StatusNotFound, "no-route", "action must be drain, enable or disable")
		}
	})
	mux.HandleFunc("GET /admin/health", func(w http.ResponseWriter, r *http.Request) {
		type inst struct {
			Service string `json:"service"`
			balance.InstanceInfo
		}
		var out []inst
		for _, s := range g.Services() {
			for _, in := range s.Instances {
				out = append(out, inst{s.Name, in})
			}
		}
		WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /admin/config", func(w http.ResponseWriter, r *http.Request) {
		data, err := g.Config().Marshal()
		if err != nil {
			problem.Write(w, r, http.StatusInternalServerError, "internal", err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(data)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, http.StatusNotFound, "no-route", "no admin endpoint "+r.Method+" "+r.URL.Path)
	})
	if token == "" {
		return mux
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The dashboard page holds no data; its requests for data carry
		// the token (given in the page's URL fragment).
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/dashboard/") {
			mux.ServeHTTP(w, r)
			return
		}
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="raygate-admin"`)
			problem.Write(w, r, http.StatusUnauthorized, "unauthorized", "the admin API needs a valid bearer token")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func readBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			problem.Write(w, r, http.StatusRequestEntityTooLarge, "body-too-large", "definition exceeds 1 MiB")
		} else {
			problem.Write(w, r, http.StatusBadRequest, "bad-request", "could not read the body")
		}
		return "", false
	}
	return string(data), true
}

// result answers an operation: conflicts (exists, in use) are 409, a
// missing name 404, anything else the caller got wrong 400.
func result(w http.ResponseWriter, r *http.Request, err error, okStatus int) {
	if err == nil {
		WriteJSON(w, okStatus, map[string]string{"status": "ok"})
		return
	}
	switch msg := err.Error(); {
	case errors.Is(err, gateway.ErrNotFound):
		problem.Write(w, r, http.StatusNotFound, "not-found", msg)
	case errors.Is(err, gateway.ErrConflict):
		problem.Write(w, r, http.StatusConflict, "conflict", msg)
	default:
		problem.Write(w, r, http.StatusBadRequest, "invalid", msg)
	}
}

// ReadJSON decodes a request body of at most 1 MiB into v, refusing
// unknown fields; on failure it answers 400 and returns false.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF { // an empty body sets nothing
		problem.Write(w, r, http.StatusBadRequest, "invalid", "body is not the expected JSON object: "+err.Error())
		return false
	}
	return true
}

// WriteJSON answers with v as indented JSON, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
