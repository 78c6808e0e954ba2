package system_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/raygate/raygate/tools/demo"
)

// TestAuthAdminAPI drives the apiauth operations over the admin API of the
// assembled system, and the credentials they make over the gateway.
func TestAuthAdminAPI(t *testing.T) {
	b, _ := demo.Serve("b", "127.0.0.1:0")
	defer b.Close()
	gw, admin := startSystem(t, "t.yaml", `listeners: [{address: "127.0.0.1:0"}]
auth: {api_keys: {}, tokens: {}}
routes: [{name: k, match: {prefix: /k/}, service: s, auth: {methods: [api_key, token]}}]
services: [{name: s, instances: [{address: "`+b.Addr().String()+`"}]}]
`)

	call := func(method, url, body string, hdr ...string) (int, map[string]any, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var m map[string]any
		json.Unmarshal(data, &m)
		return resp.StatusCode, m, string(data)
	}

	code, m, _ := call("POST", admin+"/admin/auth/keys", `{"id": "ci", "role": "User", "routes": ["k"]}`)
	key, _ := m["key"].(string)
	if code != 201 || !strings.HasPrefix(key, "rgk_") {
		t.Fatalf("create key: %d %v", code, m)
	}
	if code, _, _ := call("GET", gw+"/k/x", "", "X-API-Key", key); code != 200 {
		t.Fatalf("key over the gateway: %d", code)
	}
	if _, _, body := call("GET", admin+"/admin/auth/keys", ""); strings.Contains(body, key) || !strings.Contains(body, `"ci"`) {
		t.Fatalf("key list shows the key or lacks its id: %s", body)
	}
	code, m, _ = call("POST", admin+"/admin/auth/tokens", `{"subject": "svc", "role": "ServiceAccount", "ttl": "10m"}`)
	tok, _ := m["token"].(string)
	rec, _ := m["record"].(map[string]any)
	id, _ := rec["id"].(string)
	if code != 201 || tok == "" || id == "" {
		t.Fatalf("issue: %d %v", code, m)
	}
	if code, _, _ := call("GET", gw+"/k/x", "", "Authorization", "Bearer "+tok); code != 200 {
		t.Fatalf("token over the gateway: %d", code)
	}
	code, m, _ = call("POST", admin+"/admin/auth/tokens/"+id+"/refresh", "")
	tok2, _ := m["token"].(string)
	if code != 201 || tok2 == "" {
		t.Fatalf("refresh: %d %v", code, m)
	}
	if code, _, _ := call("GET", gw+"/k/x", "", "Authorization", "Bearer "+tok); code != 401 {
		t.Fatalf("the refreshed-away token still works: %d", code)
	}
	rec2, _ := m["record"].(map[string]any)
	if code, _, _ := call("DELETE", admin+"/admin/auth/tokens/"+rec2["id"].(string), ""); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _, _ := call("GET", gw+"/k/x", "", "Authorization", "Bearer "+tok2); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	if code, _, _ := call("DELETE", admin+"/admin/auth/keys/ci", ""); code != 200 {
		t.Fatalf("remove key: %d", code)
	}
	if code, _, _ := call("GET", gw+"/k/x", "", "X-API-Key", key); code != 401 {
		t.Fatalf("removed key: %d", code)
	}
	for _, c := range []struct {
		method, path, body string
		code               int
	}{
		{"POST", "/admin/auth/tokens", `{"subject": "x", "role": "Root"}`, 400},
		{"POST", "/admin/auth/tokens", `{"subject": "x", "role": "User", "ttl": "forever"}`, 400},
		{"POST", "/admin/auth/tokens", `{"bogus": 1}`, 400},
		{"POST", "/admin/auth/tokens/nope/refresh", "", 409},
		{"DELETE", "/admin/auth/keys/nope", "", 404},
		{"GET", "/admin/auth/failures", "", 200},
	} {
		if code, _, body := call(c.method, admin+c.path, c.body); code != c.code {
			t.Errorf("%s %s: %d %s", c.method, c.path, code, body)
		}
	}
}
