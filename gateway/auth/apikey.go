package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/raygate/raygate/gateway/config"
)

// KeyStore holds API keys by the SHA-256 of the key, never the key itself.
// A key is shown once, when the gateway creates it.
type KeyStore struct {
	header, query string
	max           int
	now           func() time.Time

	mu     sync.RWMutex
	byID   map[string]*apiKey
	byHash map[[32]byte]*apiKey
}

type apiKey struct {
	KeyInfo
	hash     [32]byte
	perms    Perm
	services map[string]bool
	routes   map[string]bool
}

// KeyInfo describes a key for the console and the admin API.
type KeyInfo struct {
	ID          string    `json:"id"`
	Prefix      string    `json:"prefix"` // the first characters of the key, as shown when created
	Role        string    `json:"role"`
	Permissions string    `json:"permissions"`
	Services    []string  `json:"services,omitempty"`
	Routes      []string  `json:"routes,omitempty"`
	Expires     time.Time `json:"expires,omitempty"`
	Source      string    `json:"source"` // config or runtime
}

// keyPrefix marks raygate keys, so a leaked one is recognisable.
const keyPrefix = "rgk_"

func newKeyStore(cfg *config.APIKeyAuth, now func() time.Time) (*KeyStore, error) {
	ks := &KeyStore{header: cfg.Header, query: cfg.Query, max: cfg.MaxKeys, now: now,
		byID: map[string]*apiKey{}, byHash: map[[32]byte]*apiKey{}}
	for _, k := range cfg.Keys {
		raw, _ := hex.DecodeString(strings.TrimPrefix(k.Hash, "sha256:"))
		var h [32]byte
		copy(h[:], raw)
		var exp time.Time
		if k.Expires != "" {
			exp, _ = time.Parse(time.RFC3339, k.Expires)
		}
		if err := ks.add(KeyInfo{ID: k.ID, Prefix: "(configured)", Role: k.Role, Services: k.Services, Routes: k.Routes,
			Expires: exp, Source: "config"}, h, permsFor(k.Role, k.Permissions)); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

func set(l []string) map[string]bool {
	if len(l) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, s := range l {
		m[s] = true
	}
	return m
}

func (ks *KeyStore) add(info KeyInfo, h [32]byte, perms Perm) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if _, dup := ks.byID[info.ID]; dup {
		return fmt.Errorf("key %q exists", info.ID)
	}
	if len(ks.byID) >= ks.max {
		return fmt.Errorf("key table full (%d keys; auth.api_keys.max_keys)", ks.max)
	}
	info.Permissions = perms.String()
	k := &apiKey{KeyInfo: info, hash: h, perms: perms, services: set(info.Services), routes: set(info.Routes)}
	ks.byID[info.ID] = k
	ks.byHash[h] = k
	return nil
}

// Create makes a new key and returns it: the only time it is ever shown.
// ttl 0 means no expiry. Services and routes, when given, bind the key.
func (ks *KeyStore) Create(id, role string, perms []string, services, routes []string, ttl time.Duration) (string, KeyInfo, error) {
	if err := validKeyID(id); err != nil {
		return "", KeyInfo{}, err
	}
	if _, ok := RolePerms[role]; !ok {
		return "", KeyInfo{}, fmt.Errorf("%q is not a role (Admin, ServiceAccount, User, Guest)", role)
	}
	for _, p := range perms {
		if ParsePerms([]string{p}) == 0 {
			return "", KeyInfo{}, fmt.Errorf("%q is not a permission (read, write, execute, admin)", p)
		}
	}
	var secret [32]byte
	rand.Read(secret[:])
	key := keyPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	info := KeyInfo{ID: id, Prefix: key[:len(keyPrefix)+6], Role: role, Services: services, Routes: routes, Source: "runtime"}
	if ttl > 0 {
		info.Expires = ks.now().Add(ttl).Truncate(time.Second)
	}
	if err := ks.add(info, sha256.Sum256([]byte(key)), permsFor(role, perms)); err != nil {
		return "", KeyInfo{}, err
	}
	ks.mu.RLock()
	info = ks.byID[id].KeyInfo
	ks.mu.RUnlock()
	return key, info, nil
}

func validKeyID(id string) error {
	if id == "" || len(id) > 64 {
		return errors.New("key id must be 1 to 64 characters")
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("key id %q may hold only letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}

// Remove deletes a key by id.
func (ks *KeyStore) Remove(id string) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, ok := ks.byID[id]
	if !ok {
		return fmt.Errorf("no key %q", id)
	}
	delete(ks.byID, id)
	delete(ks.byHash, k.hash)
	return nil
}

// Keys lists the keys by id.
func (ks *KeyStore) Keys() []KeyInfo {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	out := make([]KeyInfo, 0, len(ks.byID))
	for _, k := range ks.byID {
		out = append(out, k.KeyInfo)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Key returns one key's description.
func (ks *KeyStore) Key(id string) (KeyInfo, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	k, ok := ks.byID[id]
	if !ok {
		return KeyInfo{}, false
	}
	return k.KeyInfo, true
}

func (ks *KeyStore) verify(key string) (*identity, error) {
	h := sha256.Sum256([]byte(key))
	ks.mu.RLock()
	k := ks.byHash[h]
	ks.mu.RUnlock()
	// The map finds the candidate by hash; the comparison that decides is
	// constant time.
	if k == nil || subtle.ConstantTimeCompare(k.hash[:], h[:]) != 1 {
		return nil, errors.New("API key not recognised")
	}
	if !k.Expires.IsZero() && !ks.now().Before(k.Expires) {
		return nil, errors.New("API key expired")
	}
	id := &identity{kind: "api_key", services: k.services, routes: k.routes}
	id.Subject, id.Role, id.KeyID = "key:"+k.ID, k.Role, k.ID
	id.Permissions = uint32(k.perms)
	return id, nil
}
