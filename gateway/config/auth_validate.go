package config

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Roles and permissions, as configuration spells them.
var (
	Roles       = []string{"Admin", "ServiceAccount", "User", "Guest"}
	Permissions = []string{"read", "write", "execute", "admin"}
	// AuthMethods are the credential types a route may accept.
	AuthMethods = []string{"jwt", "token", "api_key", "basic"}
	// JWTAlgs are the algorithms a JWT key may be pinned to.
	JWTAlgs = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}
)

func (a *Auth) setDefaults() {
	if a.Realm == "" {
		a.Realm = "raygate"
	}
	d := func(v *Duration, def time.Duration) {
		if *v == 0 {
			*v = Duration(def)
		}
	}
	n := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	if j := a.JWT; j != nil {
		d(&j.Leeway, 30*time.Second)
		if j.ScopeClaim == "" {
			j.ScopeClaim = "scope"
		}
		if j.RoleClaim == "" {
			j.RoleClaim = "role"
		}
		if k := j.JWKS; k != nil {
			d(&k.Refresh, 5*time.Minute)
			d(&k.MaxStale, time.Hour)
			d(&k.MinInterval, 30*time.Second)
			d(&k.Timeout, 5*time.Second)
		}
	}
	if t := a.Tokens; t != nil {
		d(&t.TTL, time.Hour)
		d(&t.MaxTTL, 24*time.Hour)
		n(&t.MaxTokens, 256)
		n(&t.MaxRevoked, 4096)
	}
	if k := a.APIKeys; k != nil {
		if k.Header == "" {
			k.Header = "X-API-Key"
		}
		n(&k.MaxKeys, 512)
		for i := range k.Keys {
			if k.Keys[i].Role == "" {
				k.Keys[i].Role = "ServiceAccount"
			}
		}
	}
	if b := a.Basic; b != nil {
		for i := range b.Users {
			if b.Users[i].Role == "" {
				b.Users[i].Role = "User"
			}
		}
	}
	l := &a.Lockout
	n(&l.MaxFailures, 10)
	d(&l.Window, time.Minute)
	d(&l.Duration, 5*time.Minute)
	n(&l.MaxTracked, 4096)
	h := &a.IdentityHeaders
	if h.Subject == "" {
		h.Subject = "X-Auth-Subject"
	}
	if h.Role == "" {
		h.Role = "X-Auth-Role"
	}
	if h.KeyID == "" {
		h.KeyID = "X-Auth-Key-Id"
	}
}

func validRole(path, r string) error {
	if !slices.Contains(Roles, r) {
		return errorf(path, "%q is not a role (%s)", r, strings.Join(Roles, ", "))
	}
	return nil
}

func validPerms(path string, ps []string) error {
	for i, p := range ps {
		if !slices.Contains(Permissions, p) {
			return errorf(fmt.Sprintf("%s[%d]", path, i), "%q is not a permission (%s)", p, strings.Join(Permissions, ", "))
		}
	}
	return nil
}

func (c *Config) validateAuth() error {
	a := &c.Auth
	if j := a.JWT; j != nil {
		if len(j.Keys) == 0 && j.JWKS == nil {
			return errorf("auth.jwt", "needs keys or jwks")
		}
		ids := map[string]bool{}
		for i, k := range j.Keys {
			at := fmt.Sprintf("auth.jwt.keys[%d]", i)
			if k.ID == "" {
				return errorf(at+".id", "required (tokens name their key by kid)")
			}
			if ids[k.ID] {
				return errorf(at+".id", "key %q defined twice", k.ID)
			}
			ids[k.ID] = true
			if !slices.Contains(JWTAlgs, k.Alg) {
				return errorf(at+".alg", "%q is not one of %s", k.Alg, strings.Join(JWTAlgs, ", "))
			}
			n := 0
			for _, s := range []string{k.PEM, k.Secret, k.JWK} {
				if s != "" {
					n++
				}
			}
			if n != 1 {
				return errorf(at, "needs exactly one of pem, secret or jwk")
			}
			hmac := strings.HasPrefix(k.Alg, "HS")
			if hmac != (k.Secret != "") && k.JWK == "" {
				return errorf(at, "%s needs %s", k.Alg, map[bool]string{true: "a secret", false: "a public key (pem or jwk), not a secret"}[hmac])
			}
			if hmac && k.Secret != "" && len(k.Secret) < 32 {
				return errorf(at+".secret", "shorter than 32 bytes")
			}
		}
		if k := j.JWKS; k != nil {
			u, err := url.Parse(k.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errorf("auth.jwt.jwks.url", "%q is not an http(s) URL", k.URL)
			}
		}
	}
	if t := a.Tokens; t != nil && t.TTL > t.MaxTTL {
		return errorf("auth.tokens.ttl", "%s exceeds max_ttl %s", t.TTL.D(), t.MaxTTL.D())
	}
	services := map[string]bool{}
	for _, s := range c.Services {
		services[s.Name] = true
	}
	routes := map[string]bool{}
	for _, r := range c.Routes {
		routes[r.Name] = true
	}
	if k := a.APIKeys; k != nil {
		if len(k.Keys) > k.MaxKeys {
			return errorf("auth.api_keys.keys", "%d keys exceed max_keys (%d)", len(k.Keys), k.MaxKeys)
		}
		ids := map[string]bool{}
		for i, key := range k.Keys {
			at := fmt.Sprintf("auth.api_keys.keys[%d]", i)
			if err := validName(key.ID); err != nil {
				return errorf(at+".id", "%v", err)
			}
			if ids[key.ID] {
				return errorf(at+".id", "key %q defined twice", key.ID)
			}
			ids[key.ID] = true
			h, ok := strings.CutPrefix(key.Hash, "sha256:")
			if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != 32 {
				return errorf(at+".hash", "must be sha256: and 64 hex digits (the key itself is never stored)")
			}
			if err := validRole(at+".role", key.Role); err != nil {
				return err
			}
			if err := validPerms(at+".permissions", key.Permissions); err != nil {
				return err
			}
			for j, s := range key.Services {
				if !services[s] {
					return errorf(fmt.Sprintf("%s.services[%d]", at, j), "no service named %q", s)
				}
			}
			for j, r := range key.Routes {
				if !routes[r] {
					return errorf(fmt.Sprintf("%s.routes[%d]", at, j), "no route named %q", r)
				}
			}
			if key.Expires != "" {
				if _, err := time.Parse(time.RFC3339, key.Expires); err != nil {
					return errorf(at+".expires", "%q is not an RFC 3339 time like 2027-01-01T00:00:00Z", key.Expires)
				}
			}
		}
	}
	if b := a.Basic; b != nil {
		names := map[string]bool{}
		for i, u := range b.Users {
			at := fmt.Sprintf("auth.basic.users[%d]", i)
			if u.Name == "" || strings.Contains(u.Name, ":") {
				return errorf(at+".name", "required, without ':'")
			}
			if names[u.Name] {
				return errorf(at+".name", "user %q defined twice", u.Name)
			}
			names[u.Name] = true
			if !strings.HasPrefix(u.Hash, "$2a$") && !strings.HasPrefix(u.Hash, "$2b$") && !strings.HasPrefix(u.Hash, "$2y$") && !strings.HasPrefix(u.Hash, "$argon2id$") {
				return errorf(at+".hash", "must be a bcrypt or argon2id hash (plain passwords are never stored)")
			}
			if err := validRole(at+".role", u.Role); err != nil {
				return err
			}
			if err := validPerms(at+".permissions", u.Permissions); err != nil {
				return err
			}
		}
	}
	l := a.Lockout
	if l.MaxTracked < 0 {
		return errorf("auth.lockout.max_tracked", "must not be negative")
	}
	for i, r := range c.Routes {
		ra := r.Auth
		if ra == nil {
			continue
		}
		at := fmt.Sprintf("routes[%d].auth", i)
		if len(ra.Methods) == 0 {
			return errorf(at+".methods", "required: which of %s the route accepts", strings.Join(AuthMethods, ", "))
		}
		for j, m := range ra.Methods {
			configured := map[string]bool{"jwt": a.JWT != nil, "token": a.Tokens != nil, "api_key": a.APIKeys != nil, "basic": a.Basic != nil}
			ok, known := configured[m]
			if !known {
				return errorf(fmt.Sprintf("%s.methods[%d]", at, j), "%q is not one of %s", m, strings.Join(AuthMethods, ", "))
			}
			if !ok {
				return errorf(fmt.Sprintf("%s.methods[%d]", at, j), "%q is not configured in the auth section", m)
			}
		}
		for j, role := range ra.Roles {
			if err := validRole(fmt.Sprintf("%s.roles[%d]", at, j), role); err != nil {
				return err
			}
		}
		if err := validPerms(at+".permissions", ra.Permissions); err != nil {
			return err
		}
		if r.Respond != nil && ra.ForwardCredential {
			return errorf(at+".forward_credential", "route %q answers directly: there is no backend", r.Name)
		}
	}
	return nil
}
