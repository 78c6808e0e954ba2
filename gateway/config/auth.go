package config

// Auth configures who may call the gateway (see gateway/auth). Routes opt in
// with their own auth section; a route without one is public.
type Auth struct {
	// Realm names the gateway in WWW-Authenticate challenges (default "raygate").
	Realm string `yaml:"realm,omitempty" json:"realm"`
	// JWT verifies bearer tokens signed by an external issuer.
	JWT *JWTAuth `yaml:"jwt,omitempty" json:"jwt"`
	// Tokens configures the tokens the gateway issues itself.
	Tokens *TokenAuth `yaml:"tokens,omitempty" json:"tokens"`
	// APIKeys configures API keys.
	APIKeys *APIKeyAuth `yaml:"api_keys,omitempty" json:"api_keys"`
	// Basic configures HTTP Basic users.
	Basic *BasicAuth `yaml:"basic,omitempty" json:"basic"`
	// Lockout slows down guessing: failures per client address and per
	// credential, then 429 for a while.
	Lockout Lockout `yaml:"lockout,omitempty" json:"lockout"`
	// IdentityHeaders name the headers that carry the caller's identity to
	// the backend. Clients' own values of these headers are always removed.
	IdentityHeaders IdentityHeaders `yaml:"identity_headers,omitempty" json:"identity_headers"`
}

// JWTAuth verifies externally issued JWTs. The algorithm is pinned by each
// key, never taken from the token.
type JWTAuth struct {
	// Issuer, when set, must equal the iss claim.
	Issuer string `yaml:"issuer,omitempty" json:"issuer"`
	// Audience, when set, must contain one of the aud claim's values.
	Audience []string `yaml:"audience,omitempty" json:"audience"`
	// Leeway tolerates clock skew on exp, nbf and iat (default 30s).
	Leeway Duration `yaml:"leeway,omitempty" json:"leeway"`
	// Keys are verification keys from the configuration.
	Keys []JWTKey `yaml:"keys,omitempty" json:"keys"`
	// JWKS fetches keys from a JWK Set URL and refreshes them.
	JWKS *JWKS `yaml:"jwks,omitempty" json:"jwks"`
	// ScopeClaim holds the token's scopes (default "scope": a
	// space-separated string or an array).
	ScopeClaim string `yaml:"scope_claim,omitempty" json:"scope_claim"`
	// RoleClaim holds the caller's role (default "role").
	RoleClaim string `yaml:"role_claim,omitempty" json:"role_claim"`
}

// JWTKey is one verification key: a PEM public key, an HMAC secret or a JWK.
type JWTKey struct {
	// ID is the key id tokens name in their kid header.
	ID string `yaml:"id" json:"id"`
	// Alg is the one algorithm this key verifies: HS256, HS384, HS512,
	// RS256, RS384, RS512, PS256, ES256, ES384 or EdDSA.
	Alg string `yaml:"alg" json:"alg"`
	// PEM is a public key (RSA, ECDSA or Ed25519) in PEM form.
	PEM string `yaml:"pem,omitempty" json:"pem"`
	// Secret is an HMAC secret (at least 32 bytes).
	Secret string `yaml:"secret,omitempty" json:"secret"`
	// JWK is a key in JSON Web Key form.
	JWK string `yaml:"jwk,omitempty" json:"jwk"`
}

// JWKS is a JWK Set fetched over HTTP.
type JWKS struct {
	// URL of the JWK Set.
	URL string `yaml:"url" json:"url"`
	// Refresh is how often the set is fetched (default 5m).
	Refresh Duration `yaml:"refresh,omitempty" json:"refresh"`
	// MaxStale is how long the last good set keeps serving while fetches
	// fail (default 1h); after that tokens from this set are refused.
	MaxStale Duration `yaml:"max_stale,omitempty" json:"max_stale"`
	// MinInterval bounds refreshes triggered by an unknown kid (default 30s).
	MinInterval Duration `yaml:"min_interval,omitempty" json:"min_interval"`
	// Timeout bounds one fetch (default 5s).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout"`
}

// TokenAuth configures gateway-issued tokens (Ed25519-signed JWTs).
type TokenAuth struct {
	// KeyPEM is the Ed25519 private key in PEM (PKCS #8) form; empty means
	// a key generated at boot (tokens then do not survive a restart).
	KeyPEM string `yaml:"key_pem,omitempty" json:"key_pem"`
	// TTL is the default lifetime of an issued token (default 1h).
	TTL Duration `yaml:"ttl,omitempty" json:"ttl"`
	// MaxTTL bounds any requested lifetime (default 24h).
	MaxTTL Duration `yaml:"max_ttl,omitempty" json:"max_ttl"`
	// MaxTokens bounds the tokens tracked for listing and refresh (default 256).
	MaxTokens int `yaml:"max_tokens,omitempty" json:"max_tokens"`
	// MaxRevoked bounds the revocation list (default 4096); entries are
	// forgotten once the token would have expired anyway.
	MaxRevoked int `yaml:"max_revoked,omitempty" json:"max_revoked"`
}

// APIKeyAuth configures API keys. Keys are stored only as SHA-256 hashes.
type APIKeyAuth struct {
	// Header carries the key (default "X-API-Key").
	Header string `yaml:"header,omitempty" json:"header"`
	// Query, when set, also accepts the key in this query parameter.
	Query string `yaml:"query,omitempty" json:"query"`
	// Keys are the configured keys.
	Keys []APIKey `yaml:"keys,omitempty" json:"keys"`
	// MaxKeys bounds the key table, configured and added (default 512).
	MaxKeys int `yaml:"max_keys,omitempty" json:"max_keys"`
}

// APIKey is one key, by its hash.
type APIKey struct {
	// ID names the key in logs and the console.
	ID string `yaml:"id" json:"id"`
	// Hash is "sha256:" and the hex SHA-256 of the key.
	Hash string `yaml:"hash" json:"hash"`
	// Role is Admin, ServiceAccount, User or Guest (default ServiceAccount).
	Role string `yaml:"role,omitempty" json:"role"`
	// Permissions override the role's: read, write, execute, admin.
	Permissions []string `yaml:"permissions,omitempty" json:"permissions"`
	// Services and Routes bind the key: when either is set the key works
	// only for those services or routes.
	Services []string `yaml:"services,omitempty" json:"services"`
	Routes   []string `yaml:"routes,omitempty" json:"routes"`
	// Expires is when the key stops working (RFC 3339); empty means never.
	Expires string `yaml:"expires,omitempty" json:"expires"`
}

// BasicAuth configures HTTP Basic users.
type BasicAuth struct {
	// Users are the accounts, with bcrypt or argon2id password hashes.
	Users []BasicUser `yaml:"users" json:"users"`
}

// BasicUser is one account.
type BasicUser struct {
	Name string `yaml:"name" json:"name"`
	// Hash is a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash.
	Hash string `yaml:"hash" json:"hash"`
	// Role is Admin, ServiceAccount, User or Guest (default User).
	Role string `yaml:"role,omitempty" json:"role"`
	// Permissions override the role's.
	Permissions []string `yaml:"permissions,omitempty" json:"permissions"`
}

// Lockout slows down credential guessing.
type Lockout struct {
	// MaxFailures within Window lock the client or credential out (default
	// 10; a negative value turns lockouts off).
	MaxFailures int `yaml:"max_failures,omitempty" json:"max_failures"`
	// Window is the span failures are counted over (default 1m).
	Window Duration `yaml:"window,omitempty" json:"window"`
	// Duration is how long a lockout lasts (default 5m).
	Duration Duration `yaml:"duration,omitempty" json:"duration"`
	// MaxTracked bounds the addresses and credentials tracked (default 4096).
	MaxTracked int `yaml:"max_tracked,omitempty" json:"max_tracked"`
}

// IdentityHeaders name the headers the backend gets the identity in.
type IdentityHeaders struct {
	Subject string `yaml:"subject,omitempty" json:"subject"`
	Role    string `yaml:"role,omitempty" json:"role"`
	KeyID   string `yaml:"key_id,omitempty" json:"key_id"`
}

// RouteAuth is a route's access policy.
type RouteAuth struct {
	// Methods are the credential types accepted: jwt, token (issued by the
	// gateway), api_key, basic. Required.
	Methods []string `yaml:"methods" json:"methods"`
	// Roles, when set, are the roles allowed.
	Roles []string `yaml:"roles,omitempty" json:"roles"`
	// Permissions required; default read for GET, HEAD and OPTIONS, write
	// for the other methods.
	Permissions []string `yaml:"permissions,omitempty" json:"permissions"`
	// Scopes all required in a JWT's scope claim.
	Scopes []string `yaml:"scopes,omitempty" json:"scopes"`
	// Claims required in a JWT, by exact value.
	Claims map[string]string `yaml:"claims,omitempty" json:"claims"`
	// ForwardCredential sends the credential to the backend; by default it
	// is removed.
	ForwardCredential bool `yaml:"forward_credential,omitempty" json:"forward_credential"`
}
