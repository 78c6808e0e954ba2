package auth

import (
	"net/http"
	"time"

	"github.com/raygate/raygate/gateway/admin"
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
		admin.WriteJSON(w, http.StatusOK, map[string]any{"active": c.Active, "expired": c.Expired, "revoked": c.Revoked, "tokens": list})
	})
	mux.HandleFunc("POST /admin/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Subject string `json:"subject"`
			Role    string `json:"role"`
			TTL     string `json:"ttl"`
		}
		if !a.needTokens(w, r) || !admin.ReadJSON(w, r, &req) {
			return
		}
		ttl, ok := parseTTL(w, r, req.TTL)
		if !ok {
			return
		}
		tok, rec, err := a.tokens.Issue(req.Subject, req.Role, ttl)
		tokenAnswer(w, r, tok, rec, err, http.StatusBadRequest)
	})
	mux.HandleFunc("POST /admin/auth/tokens/{id}/refresh", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			TTL string `json:"ttl"`
		}
		if !a.needTokens(w, r) || !admin.ReadJSON(w, r, &req) {
			return
		}
		ttl, ok := parseTTL(w, r, req.TTL)
		if !ok {
			return
		}
		tok, rec, err := a.tokens.Refresh(r.PathValue("id"), ttl)
		tokenAnswer(w, r, tok, rec, err, http.StatusConflict)
	})
	mux.HandleFunc("DELETE /admin/auth/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !a.needTokens(w, r) {
			return
		}
		if err := a.tokens.Revoke(r.PathValue("id")); err != nil {
			problem.Write(w, r, http.StatusNotFound, "not-found", err.Error())
			return
		}
		admin.WriteJSON(w, http.StatusOK, map[string]string{"status": "revoked"})
	})
	mux.HandleFunc("GET /admin/auth/keys", func(w http.ResponseWriter, r *http.Request) {
		if !a.needKeys(w, r) {
			return
		}
		admin.WriteJSON(w, http.StatusOK, a.keys.Keys())
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
		if !a.needKeys(w, r) || !admin.ReadJSON(w, r, &req) {
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
		admin.WriteJSON(w, http.StatusCreated, map[string]any{"key": key, "info": info})
	})
	mux.HandleFunc("DELETE /admin/auth/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !a.needKeys(w, r) {
			return
		}
		if err := a.keys.Remove(r.PathValue("id")); err != nil {
			problem.Write(w, r, http.StatusNotFound, "not-found", err.Error())
			return
		}
		admin.WriteJSON(w, http.StatusOK, map[string]string{"status": "removed"})
	})
	mux.HandleFunc("GET /admin/auth/failures", func(w http.ResponseWriter, r *http.Request) {
		admin.WriteJSON(w, http.StatusOK, a.lock.list(a.now()))
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

// tokenAnswer answers an issue or a refresh: the token, shown once.
func tokenAnswer(w http.ResponseWriter, r *http.Request, tok string, rec TokenRecord, err error, failStatus int) {
	if err != nil {
		kind := "invalid"
		if failStatus == http.StatusConflict {
			kind = "conflict"
		}
		problem.Write(w, r, failStatus, kind, err.Error())
		return
	}
	admin.WriteJSON(w, http.StatusCreated, map[string]any{"token": tok, "record": rec})
}
