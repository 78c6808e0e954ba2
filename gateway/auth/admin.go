package auth

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/raygate/raygate/gateway/problem"
)

// AdminRoutes adds the auth operations to the admin API (the console's
// apiauth commands, over HTTP):
//
//	GET    /admin/auth/tokens[?subject=]     tracked tokens and counts
//	POST   /admin/auth/tokens                issue {subject, role, ttl}
//	POST   /admin/auth/tokens/{id}/refresh   refresh {ttl}
//	DELETE /admin/auth/tokens/{id}           revoke
//	GET    /admin/auth/keys                  keys (ids and prefixes only)
//	POST   /admin/auth/keys                  create {id, role, permissions, services, routes, ttl}
//	DELETE /admin/auth/keys/{id}             remove
//	GET    /admin/auth/failures              failed attempts and lockouts
func (a *Auth) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		if !a.needTokens(w, r) {
			return
		}
		list, c := a.tokens.Tokens(r.URL.Query().Get("subject"))
		writeJSON(w, http.StatusOK, map[string]any{"active": c.Active, "expired": c.Expired, "revoked": c.Revoked, "tokens": list})
	})
	mux.HandleFunc("POST /admin/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Subject string `json:"subject"`
			Role    string `json:"role"`
			TTL     string `json:"ttl"`
		}
		if !a.needTokens(w, r) || !readJSON(w, r, &req) {
			return
		}
		ttl, ok := parseTTL(w, r, req.TTL)
		if !ok {
			return
		}
		tok, rec, err := a.tokens.Issue(req.Subject, req.Role, ttl)
		if err != nil {
			problem.Write(w, r, http.StatusBadRequest, "invalid", err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "record": rec})
	})
	mux.HandleFunc("POST /admin/auth/tokens/{id}/refresh", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			TTL string `json:"ttl"`
		}
		if !a.needTokens(w, r) || !readJSON(w, r, &req) {
			return
		}
		ttl, ok := parseTTL(w, r, req.TTL)
		if !ok {
			return
		}
		tok, rec, err := a.tokens.Refresh(r.PathValue("id"), ttl)
		if err != nil {
			problem.Write(w, r, http.StatusConflict, "conflict", err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "record": rec})
	})
	mux.HandleFunc("DELETE /admin/auth/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !a.needTokens(w, r) {
			return
		}
		if err := a.tokens.Revoke(r.PathValue("id")); err != nil {
			problem.Write(w, r, http.StatusNotFound, "not-found", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "revoked"})
	})
	mux.HandleFunc("GET /admin/auth/keys", func(w http.ResponseWriter, r *http.Request) {
		if !a.needKeys(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, a.keys.Keys())
	})
	mux.HandleFunc("POST /admin/auth/keys", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID          string   `json:"id"`
			Role        string   `json:"role"`
			Permissions []string `json:"permissions"`
			Services    []string `json:"services"`
			Routes      []string `json:"routes"`
			TTL         string   `json:"ttl"`
		}
		if !a.needKeys(w, r) || !readJSON(w, r, &req) {
			return
		}
		ttl, ok := parseTTL(w, r, req.TTL)
		if !ok {
			return
		}
		key, info, err := a.keys.Create(req.ID, req.Role, req.Permissions, req.Services, req.Routes, ttl)
		if err != nil {
			problem.Write(w, r, http.StatusBadRequest, "invalid", err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"key": key, "info": info})
	})
	mux.HandleFunc("DELETE /admin/auth/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !a.needKeys(w, r) {
			return
		}
		if err := a.keys.Remove(r.PathValue("id")); err != nil {
			problem.Write(w, r, http.StatusNotFound, "not-found", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "removed"})
	})
	mux.HandleFunc("GET /admin/auth/failures", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.lock.list(a.now()))
	})
}

func (a *Auth) needTokens(w http.ResponseWriter, r *http.Request) bool {
	if a.tokens == nil {
		problem.Write(w, r, http.StatusNotFound, "not-configured", "gateway-issued tokens are not configured (auth.tokens)")
		return false
	}
	return true
}

func (a *Auth) needKeys(w http.ResponseWriter, r *http.Request) bool {
	if a.keys == nil {
		problem.Write(w, r, http.StatusNotFound, "not-configured", "API keys are not configured (auth.api_keys)")
		return false
	}
	return true
}

func parseTTL(w http.ResponseWriter, r *http.Request, s string) (time.Duration, bool) {
	if s == "" {
		return 0, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		problem.Write(w, r, http.StatusBadRequest, "invalid", "ttl is not a positive duration like 30m")
		return 0, false
	}
	return d, true
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF {
		problem.Write(w, r, http.StatusBadRequest, "invalid", "body is not the expected JSON object: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
