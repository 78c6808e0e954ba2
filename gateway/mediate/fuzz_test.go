package mediate

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzValidate: any request body ends in violations or ErrNotJSON, never a
// panic, and ErrNotJSON exactly when the body is not one JSON value or is
// nested past the limit or carries a number literal past the limit.
func FuzzValidate(f *testing.F) {
	c := NewCompiler(Limits{MaxDepth: 16})
	if err := c.Add("mem://s", []byte(`{"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer", "maximum": 10}}, "b": {"pattern": "^x+$"}}, "required": ["a"]}`)); err != nil {
		f.Fatal(err)
	}
	s, err := c.Compile("mem://s")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{`{"a": [1, 2, 11], "b": "xx"}`, `{"a": []}`, `[]`, `{"a": [1e400]}`, `{"a": "\u0000"}`, `{} {}`, `{"a": [[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]}`, `nul`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := s.Validate(doc)
		d, huge := scan(doc)
		wantErr := !json.Valid(doc) || d > 16 || huge
		if gotErr := errors.Is(err, ErrNotJSON); gotErr != wantErr {
			t.Fatalf("%q: error %v, want an error: %v", doc, err, wantErr)
		}
		for _, x := range v {
			if x.Message == "" {
				t.Fatalf("%q: violation at %q without a message", doc, x.Pointer)
			}
		}
	})
}
