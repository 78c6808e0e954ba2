// Package auth is the gateway's authentication and authorization stage.
// It establishes who is calling (a JWT from an external issuer, a token the
// gateway issued itself, an API key, or HTTP Basic), decides whether the
// route allows it (roles, permissions, scopes, claims, key bindings), passes
// the identity to the backend in headers and strips the credential.
//
// Failures answer 401 with a WWW-Authenticate challenge (RFC 6750 for bearer
// tokens, RFC 7617 for Basic) or 403 (insufficient_scope); repeated failures
// from one address or against one credential lock it out (429 with
// Retry-After). Problem bodies never echo a credential, and credentials never
// reach logs or the console: keys and tokens are shown by id and prefix.
//
// State that must outlive configuration changes (issued tokens, the
// revocation list, keys added at run time, lockouts) lives in the Auth value,
// created once at start.
package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
)

// Perm is a permission bitmask.
type Perm uint32

// Permissions.
const (
	PermRead Perm = 1 << iota
	PermWrite
	PermExecute
	PermAdmin
)

var permNames = []string{"read", "write", "execute", "admin"}

// ParsePerms turns configuration names into a mask (names are validated by
// the config package).
func ParsePerms(names []string) Perm {
	var p Perm
	for _, n := range names {
		if i := slices.Index(permNames, n); i >= 0 {
			p |= 1 << i
		}
	}
	return p
}

func (p Perm) String() string {
	var out []string
	for i, n := range permNames {
		if p&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

// RolePerms are each role's permissions when nothing overrides them.
var RolePerms = map[string]Perm{
	"Admin":          PermRead | PermWrite | PermExecute | PermAdmin,
	"ServiceAccount": PermRead | PermWrite | PermExecute,
	"User":           PermRead | PermWrite,
	"Guest":          PermRead,
}

// permsFor returns the explicit permissions, or the role's.
func permsFor(role string, explicit []string) Perm {
	if len(explicit) > 0 {
		return ParsePerms(explicit)
	}
	return RolePerms[role]
}

// Options are the environment of the auth stage.
type Options struct {
	// Client fetches JWK Sets; nil means a client with the configured
	// timeout (in the image it goes through the netstack).
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Auth is the stage. Create it with New, pass it in gateway.Options.Stages.
type Auth struct {
	cfg    config.Auth
	now    func() time.Time
	jwt    *jwtVerifier
	tokens *Issuer
	keys   *KeyStore
	basic  *basicUsers
	lock   *lockout
}

var (
	_ gateway.RequestStage  = (*Auth)(nil)
	_ gateway.RouteCompiler = (*Auth)(nil)
)

// New builds the stage from the configuration's auth section.
func New(cfg config.Auth, opts Options) (*Auth, error) {
	a := &Auth{cfg: cfg, now: opts.Now}
	if a.now == nil {
		a.now = time.Now
	}
	var err error
	if cfg.JWT != nil {
		if a.jwt, err = newJWTVerifier(cfg.JWT, opts.Client, a.now); err != nil {
			return nil, fmt.Errorf("auth.jwt: %w", err)
		}
	}
	if cfg.Tokens != nil {
		if a.tokens, err = NewIssuer(cfg.Tokens, a.now); err != nil {
			return nil, fmt.Errorf("auth.tokens: %w", err)
		}
	}
	if cfg.APIKeys != nil {
		if a.keys, err = newKeyStore(cfg.APIKeys, a.now); err != nil {
			return nil, fmt.Errorf("auth.api_keys: %w", err)
		}
	}
	if cfg.Basic != nil {
		a.basic = newBasicUsers(cfg.Basic, a.now)
	}
	a.lock = newLockout(cfg.Lockout)
	return a, nil
}

// Close stops background work (JWKS refresh).
func (a *Auth) Close() {
	if a.jwt != nil {
		a.jwt.close()
	}
}

// Issuer returns the token issuer, or nil when tokens are not configured.
func (a *Auth) Issuer() *Issuer { return a.tokens }

// Keys returns the API key store, or nil when API keys are not configured.
func (a *Auth) Keys() *KeyStore { return a.keys }

// Name implements gateway.RequestStage.
func (*Auth) Name() string { return "auth" }

// policy is a route's compiled access policy.
type policy struct {
	methods map[string]bool
	roles   map[string]bool
	perms   Perm // 0: by method
	scopes  []string
	claims  map[string]string
	forward bool
	route   string
	service string
}

// CompileRoute implements gateway.RouteCompiler.
func (a *Auth) CompileRoute(r *config.Route) (any, error) {
	ra := r.Auth
	if ra == nil {
		return nil, nil
	}
	p := &policy{methods: map[string]bool{}, perms: ParsePerms(ra.Permissions), scopes: ra.Scopes,
		claims: ra.Claims, forward: ra.ForwardCredential, route: r.Name, service: r.Service}
	for _, m := range ra.Methods {
		p.methods[m] = true
	}
	if len(ra.Roles) > 0 {
		p.roles = map[string]bool{}
		for _, role := range ra.Roles {
			p.roles[role] = true
		}
	}
	configured := map[string]bool{"jwt": a.jwt != nil, "token": a.tokens != nil, "api_key": a.keys != nil, "basic": a.basic != nil}
	for m := range p.methods {
		if !configured[m] {
			return nil, fmt.Errorf("auth method %q is not configured", m)
		}
	}
	return p, nil
}

// required returns the permissions a request needs on a route.
func (p *policy) required(method string) Perm {
	if p.perms != 0 {
		return p.perms
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return PermRead
	}
	return PermWrite
}

// Identity is what verification establishes, before authorization.
type identity struct {
	gateway.Identity
	kind     string          // jwt, token, api_key, basic
	scopes   []string        // from a JWT
	claims   map[string]any  // from a JWT
	services map[string]bool // API key binding
	routes   map[string]bool
}

// credential is what a request presented.
type credential struct {
	kind   string // jwt, token, api_key, basic
	secret string // the token, key or password: never logged or echoed
	user   string // basic
	id     string // what lockout counts failures against (no secret in it)
}

// OnRequest implements gateway.RequestStage.
func (a *Auth) OnRequest(w http.ResponseWriter, ex *gateway.Exchange) error {
	r := ex.Request
	// A client never chooses its own identity headers.
	hdr := a.cfg.IdentityHeaders
	for _, h := range []string{hdr.Subject, hdr.Role, hdr.KeyID} {
		r.Header.Del(h)
	}
	p, _ := ex.RouteData(a).(*policy)
	if p == nil {
		return nil
	}
	now := a.now()
	ip := "ip:" + ex.RemoteIP()
	if d := a.lock.lockedFor(ip, now); d > 0 {
		return tooMany(d, "too many failed attempts from this address")
	}

	c, err := a.extract(r, p)
	if err != nil {
		a.lock.fail(ip, now)
		return a.unauthorized(p, "invalid_request", err.Error())
	}
	if c == nil {
		return a.unauthorized(p, "", "credentials are required")
	}
	if d := a.lock.lockedFor(c.id, now); d > 0 {
		return tooMany(d, "too many failed attempts with this credential")
	}

	id, err := a.verify(c, now)
	if err != nil {
		a.lock.fail(ip, now)
		a.lock.fail(c.id, now)
		code := "invalid_token"
		if c.kind == "basic" || c.kind == "api_key" {
			code = ""
		}
		return a.unauthorized(p, code, err.Error())
	}
	if err := a.authorize(id, p, r.Method); err != nil {
		return err
	}

	if !p.forward {
		a.stripCredential(r, c)
	}
	r.Header.Set(hdr.Subject, id.Subject)
	r.Header.Set(hdr.Role, id.Role)
	if id.KeyID != "" {
		r.Header.Set(hdr.KeyID, id.KeyID)
	}
	ex.Identity = &id.Identity
	return nil
}

// MaxCredentialBytes bounds a presented token, key or password.
const MaxCredentialBytes = 8 << 10

// extract finds the credential the route accepts. A request that presents
// none returns nil; one that presents a malformed one, an error.
func (a *Auth) extract(r *http.Request, p *policy) (*credential, error) {
	if authz := r.Header.Get("Authorization"); authz != "" {
		if len(authz) > MaxCredentialBytes {
			return nil, errors.New("credential too long")
		}
		scheme, rest, _ := strings.Cut(authz, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(scheme) {
		case "bearer":
			if rest == "" {
				return nil, errors.New("empty bearer token")
			}
			kind := "jwt"
			if a.tokens != nil && a.tokens.owns(rest) {
				kind = "token"
			}
			if p.methods[kind] {
				return &credential{kind: kind, secret: rest, id: kind + ":" + fingerprint(rest)}, nil
			}
		case "basic":
			if p.methods["basic"] {
				user, pass, err := decodeBasic(rest)
				if err != nil {
					return nil, err
				}
				return &credential{kind: "basic", user: user, secret: pass, id: "user:" + user}, nil
			}
		}
	}
	if p.methods["api_key"] && a.keys != nil {
		key := r.Header.Get(a.keys.header)
		if key == "" && a.keys.query != "" {
			key = r.URL.Query().Get(a.keys.query)
		}
		if key != "" {
			if len(key) > MaxCredentialBytes {
				return nil, errors.New("credential too long")
			}
			return &credential{kind: "api_key", secret: key, id: "key:" + fingerprint(key)}, nil
		}
	}
	return nil, nil
}

func (a *Auth) verify(c *credential, now time.Time) (*identity, error) {
	switch c.kind {
	case "jwt":
		return a.jwt.verify(c.secret)
	case "token":
		return a.tokens.verify(c.secret)
	case "api_key":
		return a.keys.verify(c.secret)
	case "basic":
		return a.basic.verify(c.user, c.secret)
	}
	return nil, errors.New("unsupported credential")
}

func (a *Auth) authorize(id *identity, p *policy, method string) error {
	if p.roles != nil && !p.roles[id.Role] {
		return forbidden("", fmt.Sprintf("role %s may not use this route", id.Role))
	}
	if need := p.required(method); Perm(id.Permissions)&need != need {
		return forbidden("", fmt.Sprintf("%s permission required", (need&^Perm(id.Permissions)).String()))
	}
	var missing []string
	for _, s := range p.scopes {
		if !slices.Contains(id.scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return forbidden(strings.Join(p.scopes, " "), "missing scope "+strings.Join(missing, " "))
	}
	for k, v := range p.claims {
		if got, ok := id.claims[k]; !ok || fmt.Sprint(got) != v {
			return forbidden("", "claim "+k+" does not allow this route")
		}
	}
	if id.services != nil || id.routes != nil {
		if !id.services[p.service] && !id.routes[p.route] {
			return forbidden("", "this API key is not bound to this route")
		}
	}
	return nil
}

func (a *Auth) stripCredential(r *http.Request, c *credential) {
	switch c.kind {
	case "api_key":
		r.Header.Del(a.keys.header)
		if a.keys.query != "" {
			if q := r.URL.Query(); q.Has(a.keys.query) {
				q.Del(a.keys.query)
				r.URL.RawQuery = q.Encode()
			}
		}
	default:
		r.Header.Del("Authorization")
	}
}

// unauthorized answers 401 with a challenge for every method the route
// accepts. code is the RFC 6750 error for bearer tokens ("" when none was
// presented); detail never holds the credential.
func (a *Auth) unauthorized(p *policy, code, detail string) error {
	h := http.Header{}
	realm := strconv.Quote(a.cfg.Realm)
	if p.methods["jwt"] || p.methods["token"] {
		c := "Bearer realm=" + realm
		if code != "" {
			c += ", error=" + strconv.Quote(code) + ", error_description=" + strconv.Quote(detail)
		}
		h.Add("WWW-Authenticate", c)
	}
	if p.methods["basic"] {
		h.Add("WWW-Authenticate", "Basic realm="+realm+`, charset="UTF-8"`)
	}
	if p.methods["api_key"] && a.keys != nil {
		h.Add("WWW-Authenticate", "ApiKey realm="+realm+", header="+strconv.Quote(a.keys.header))
	}
	return &gateway.Error{Status: http.StatusUnauthorized, Kind: "unauthorized", Detail: detail, Header: h}
}

func forbidden(scope, detail string) error {
	h := http.Header{}
	if scope != "" {
		h.Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope=`+strconv.Quote(scope))
	}
	return &gateway.Error{Status: http.StatusForbidden, Kind: "forbidden", Detail: detail, Header: h}
}

func tooMany(d time.Duration, detail string) error {
	secs := int(d.Seconds() + 0.999)
	return &gateway.Error{Status: http.StatusTooManyRequests, Kind: "locked-out", Detail: detail,
		Header: http.Header{"Retry-After": {strconv.Itoa(secs)}}}
}

// fingerprint names a secret without revealing it: 8 bytes of its SHA-256.
func fingerprint(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:8])
}

// decodeBasic decodes RFC 7617 credentials.
func decodeBasic(b64 string) (user, pass string, err error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "", errors.New("basic credentials are not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return "", "", errors.New("basic credentials are not user:password")
	}
	return user, pass, nil
}
