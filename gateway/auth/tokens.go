package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/raygate/raygate/gateway/config"
)

// Issuer issues, validates, refreshes and revokes the gateway's own tokens:
// EdDSA (Ed25519) JWTs with a jti, signed by a key from the configuration
// or generated at boot. Revocation is checked on every request; the list is
// bounded and forgets a token once it would have expired anyway.
type Issuer struct {
	cfg  *config.TokenAuth
	now  func() time.Time
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	kid  string

	mu      sync.RWMutex
	tokens  map[string]*TokenRecord // by id (jti), bounded by MaxTokens
	revoked map[string]time.Time    // jti -> exp, bounded by MaxRevoked
	cache   *verifiedCache          // signature checks; revocation is checked every time
}

// TokenRecord is what the gateway remembers of a token it issued. It never
// holds the token itself.
type TokenRecord struct {
	ID      string    `json:"id"`
	Subject string    `json:"subject"`
	Role    string    `json:"role"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	Revoked bool      `json:"revoked"`
}

const tokenIssuer = "raygate"

// NewIssuer loads or generates the signing key.
func NewIssuer(cfg *config.TokenAuth, now func() time.Time) (*Issuer, error) {
	is := &Issuer{cfg: cfg, now: now, tokens: map[string]*TokenRecord{}, revoked: map[string]time.Time{}, cache: newVerifiedCache(defaultCacheMax)}
	if cfg.KeyPEM != "" {
		block, _ := pem.Decode([]byte(cfg.KeyPEM))
		if block == nil {
			return nil, errors.New("key_pem: no PEM block")
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("key_pem: %v", err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("key_pem: a %T, not an Ed25519 key", k)
		}
		is.priv = priv
	} else {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		is.priv = priv
	}
	is.pub = is.priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(is.pub)
	is.kid = "raygate-" + hex.EncodeToString(sum[:6])
	return is, nil
}

// KeyID is the kid of the gateway's signing key.
func (is *Issuer) KeyID() string { return is.kid }

// owns reports whether a token names the gateway's key (cheap: header only).
func (is *Issuer) owns(token string) bool {
	h, err := parseHeader(token)
	return err == nil && h.Kid == is.kid
}

type tokenClaims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Issue signs a token for subject with role, valid for ttl (0 means the
// configured default). The token is returned once and never stored.
func (is *Issuer) Issue(subject, role string, ttl time.Duration) (string, TokenRecord, error) {
	if subject == "" || len(subject) > 256 || strings.ContainsAny(subject, "\r\n") {
		return "", TokenRecord{}, errors.New("subject must be 1 to 256 characters on one line")
	}
	if _, ok := RolePerms[role]; !ok {
		return "", TokenRecord{}, fmt.Errorf("%q is not a role (Admin, ServiceAccount, User, Guest)", role)
	}
	if ttl == 0 {
		ttl = is.cfg.TTL.D()
	}
	if ttl < 0 || ttl > is.cfg.MaxTTL.D() {
		return "", TokenRecord{}, fmt.Errorf("ttl %s outside 0..%s", ttl, is.cfg.MaxTTL.D())
	}
	now := is.now()
	var idb [12]byte
	rand.Read(idb[:])
	rec := TokenRecord{ID: hex.EncodeToString(idb[:]), Subject: subject, Role: role,
		Issued: now.Truncate(time.Second), Expires: now.Add(ttl).Truncate(time.Second)}

	is.mu.Lock()
	defer is.mu.Unlock()
	if err := is.makeRoomLocked(now); err != nil {
		return "", TokenRecord{}, err
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, tokenClaims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: tokenIssuer, Subject: subject, ID: rec.ID,
		IssuedAt: jwt.NewNumericDate(rec.Issued), ExpiresAt: jwt.NewNumericDate(rec.Expires),
	}})
	tok.Header["kid"] = is.kid
	signed, err := tok.SignedString(is.priv)
	if err != nil {
		return "", TokenRecord{}, err
	}
	is.tokens[rec.ID] = &rec
	return signed, rec, nil
}

// makeRoomLocked forgets expired tokens, then the oldest, to stay within
// MaxTokens. A forgotten token still verifies until it expires; it can no
// longer be listed or refreshed.
func (is *Issuer) makeRoomLocked(now time.Time) error {
	if len(is.tokens) < is.cfg.MaxTokens {
		return nil
	}
	var oldest *TokenRecord
	for id, r := range is.tokens {
		if !now.Before(r.Expires) {
			delete(is.tokens, id)
			continue
		}
		if oldest == nil || r.Issued.Before(oldest.Issued) {
			oldest = r
		}
	}
	if len(is.tokens) >= is.cfg.MaxTokens && oldest != nil {
		delete(is.tokens, oldest.ID)
	}
	return nil
}

func (is *Issuer) verify(token string) (*identity, error) {
	id, ok := is.cache.get(token, is.now(), 0)
	if !ok {
		var err error
		if id, err = is.check(token); err != nil {
			return nil, err
		}
	}
	is.mu.RLock()
	_, revoked := is.revoked[id.KeyID]
	is.mu.RUnlock()
	if revoked {
		return nil, errors.New("token revoked")
	}
	return id, nil
}

// check verifies a token's signature and claims.
func (is *Issuer) check(token string) (*identity, error) {
	h, err := parseHeader(token)
	if err != nil {
		return nil, err
	}
	if h.Alg != "EdDSA" || h.Kid != is.kid {
		return nil, errors.New("token is not signed by this gateway's key")
	}
	var c tokenClaims
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(tokenIssuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(is.now), jwt.WithLeeway(5*time.Second)).
		ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return is.pub, nil })
	if err != nil {
		return nil, verifyError(err)
	}
	if _, ok := RolePerms[c.Role]; !ok {
		return nil, errors.New("token has no valid role")
	}
	id := &identity{kind: "token"}
	id.Subject, id.Role, id.KeyID = c.Subject, c.Role, c.ID
	id.Permissions = uint32(RolePerms[c.Role])
	if c.ExpiresAt != nil {
		is.cache.put(token, id, c.ExpiresAt.Time, is.now(), 0)
	}
	return id, nil
}

// Refresh issues a new token with the same identity and a new expiry, and
// revokes the old one.
func (is *Issuer) Refresh(id string, ttl time.Duration) (string, TokenRecord, error) {
	is.mu.RLock()
	old, ok := is.tokens[id]
	var rec TokenRecord
	if ok {
		rec = *old
	}
	_, revoked := is.revoked[id]
	is.mu.RUnlock()
	switch {
	case !ok:
		return "", TokenRecord{}, fmt.Errorf("no token %s (unknown, or forgotten after it expired)", id)
	case revoked || rec.Revoked:
		return "", TokenRecord{}, fmt.Errorf("token %s is revoked", id)
	case !is.now().Before(rec.Expires):
		return "", TokenRecord{}, fmt.Errorf("token %s has expired", id)
	}
	tok, nrec, err := is.Issue(rec.Subject, rec.Role, ttl)
	if err != nil {
		return "", TokenRecord{}, err
	}
	if err := is.Revoke(id); err != nil {
		return "", TokenRecord{}, err
	}
	return tok, nrec, nil
}

// Revoke revokes a token by id. The revocation lasts until the token's
// expiry; a full list is an error rather than a silent un-revocation.
func (is *Issuer) Revoke(id string) error {
	is.mu.Lock()
	defer is.mu.Unlock()
	rec, ok := is.tokens[id]
	if !ok {
		return fmt.Errorf("no token %s", id)
	}
	now := is.now()
	if len(is.revoked) >= is.cfg.MaxRevoked {
		for jti, exp := range is.revoked {
			if !now.Before(exp.Add(5 * time.Second)) {
				delete(is.revoked, jti)
			}
		}
		if len(is.revoked) >= is.cfg.MaxRevoked {
			return fmt.Errorf("revocation list full (%d tokens not yet expired; auth.tokens.max_revoked)", is.cfg.MaxRevoked)
		}
	}
	rec.Revoked = true
	is.revoked[id] = rec.Expires
	return nil
}

// TokenCounts are the console's summary.
type TokenCounts struct{ Active, Expired, Revoked int }

// Tokens lists the tracked tokens (optionally of one subject), newest first.
func (is *Issuer) Tokens(subject string) ([]TokenRecord, TokenCounts) {
	now := is.now()
	is.mu.RLock()
	defer is.mu.RUnlock()
	var out []TokenRecord
	var c TokenCounts
	for _, r := range is.tokens {
		switch {
		case r.Revoked:
			c.Revoked++
		case !now.Before(r.Expires):
			c.Expired++
		default:
			c.Active++
		}
		if subject == "" || r.Subject == subject {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Issued.After(out[j].Issued) || out[i].Issued.Equal(out[j].Issued) && out[i].ID < out[j].ID
	})
	return out, c
}
