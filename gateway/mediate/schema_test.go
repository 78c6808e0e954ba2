package mediate

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestViolationsAndLimits(t *testing.T) {
	c := NewCompiler(Limits{MaxDepth: 8})
	if err := c.Add("mem://order", []byte(`{
		"type": "object",
		"required": ["id", "items"],
		"properties": {
			"id": {"type": "integer", "minimum": 1},
			"items": {"type": "array", "items": {"$ref": "mem://item"}}
		}
	}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("mem://item", []byte(`{"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string", "minLength": 3}}}`)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem://order")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Validate([]byte(`{"id": 7, "items": [{"sku": "abc"}]}`)); err != nil || len(v) != 0 {
		t.Fatalf("valid order: %v %v", v, err)
	}
	v, err := s.Validate([]byte(`{"id": 0, "items": [{"sku": "abc"}, {"sku": "x"}, {}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var pointers []string
	for _, x := range v {
		pointers = append(pointers, x.Pointer)
		if x.Message == "" {
			t.Errorf("violation at %q without a message", x.Pointer)
		}
	}
	if want := []string{"/id", "/items/1/sku", "/items/2"}; !reflect.DeepEqual(pointers, want) {
		t.Fatalf("violations at %q, want %q (%v)", pointers, want, v)
	}

	if _, err := s.Validate([]byte(`{"id": 1,`)); !errors.Is(err, ErrNotJSON) {
		t.Fatalf("truncated document: %v", err)
	}
	deep := strings.Repeat("[", 9) + strings.Repeat("]", 9)
	if _, err := s.Validate([]byte(`{"id": 1, "items": ` + deep + `}`)); !errors.Is(err, ErrNotJSON) || !strings.Contains(err.Error(), "deep") {
		t.Fatalf("document nested past the limit: %v", err)
	}
	if d, huge := scan([]byte(`{"a": "[[[[[[[[[[[[\"{{{{{{ 1e99999"}`)); d != 1 || huge {
		t.Fatal("brackets or numbers inside strings counted")
	}
	// numbers whose big-number arithmetic would cost milliseconds each
	for _, n := range []string{"1e999999", "-0.5E+1000", "1" + strings.Repeat("0", 100)} {
		if _, err := s.Validate([]byte(`{"id": ` + n + `, "items": []}`)); !errors.Is(err, ErrNotJSON) || !strings.Contains(err.Error(), "number literal") {
			t.Errorf("number %.20s: %v", n, err)
		}
	}
	if v, err := s.Validate([]byte(`{"id": 1.5e308, "items": []}`)); err != nil || len(v) != 0 {
		t.Errorf("an ordinary large number: %v %v", v, err)
	}

	// references outside the configuration are refused at compile time
	if err := c.Add("mem://remote", []byte(`{"$ref": "https://example.com/schema.json"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("mem://remote"); err == nil || !strings.Contains(err.Error(), "never fetched") {
		t.Fatalf("remote $ref: %v", err)
	}
}
