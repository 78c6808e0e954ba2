package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/raygate/raygate/gateway/config"
)

// Basic users, with bcrypt or argon2id password hashes. Hashing is slow by
// design (tens of milliseconds), so a successful check is remembered for a
// minute by the SHA-256 of user and password; failures are never cached and
// an unknown user costs as much as a wrong password.
type basicUsers struct {
	users map[string]*basicUser
	now   func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]time.Time // successful checks, bounded
}

type basicUser struct {
	name, hash, role string
	perms            Perm
}

const (
	basicCacheTTL = time.Minute
	basicCacheMax = 1024
)

// dummyHash is checked for unknown users so they take as long as known
// ones; it is made on first use, not at boot.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("raygate-dummy-password"), bcrypt.DefaultCost)
	return h
})

func newBasicUsers(cfg *config.BasicAuth, now func() time.Time) *basicUsers {
	b := &basicUsers{users: map[string]*basicUser{}, now: now, cache: map[[32]byte]time.Time{}}
	for _, u := range cfg.Users {
		b.users[u.Name] = &basicUser{name: u.Name, hash: u.Hash, role: u.Role, perms: permsFor(u.Role, u.Permissions)}
	}
	return b
}

func (b *basicUsers) verify(user, pass string) (*identity, error) {
	u := b.users[user]
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	now := b.now()
	b.mu.Lock()
	exp, cached := b.cache[key]
	b.mu.Unlock()
	if !(cached && now.Before(exp) && u != nil) {
		ok := false
		if u == nil {
			bcrypt.CompareHashAndPassword(dummyHash(), []byte(pass))
		} else {
			ok = checkPassword(u.hash, pass)
		}
		if !ok {
			return nil, errors.New("user name or password not recognised")
		}
		b.mu.Lock()
		if len(b.cache) >= basicCacheMax {
			for k, e := range b.cache {
				if !now.Before(e) || len(b.cache) >= basicCacheMax {
					delete(b.cache, k)
				}
			}
		}
		b.cache[key] = now.Add(basicCacheTTL)
		b.mu.Unlock()
	}
	id := &identity{kind: "basic"}
	id.Subject, id.Role = u.name, u.role
	id.Permissions = uint32(u.perms)
	return id, nil
}

func checkPassword(hash, pass string) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		return checkArgon2id(hash, pass)
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil
}

// checkArgon2id verifies a PHC-format hash:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash> (base64 without padding).
func checkArgon2id(encoded, pass string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return false
	}
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return false
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		}
	}
	// refuse parameters that would take the gateway down (memory in KiB)
	if m == 0 || m > 256<<10 || t == 0 || t > 16 || p == 0 || p > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(pass), salt, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
