package mediate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var suiteDir = filepath.Join("..", "..", "..", "shared", "testdata", "json-schema-test-suite")

type suiteGroup struct {
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Tests       []struct {
		Description string          `json:"description"`
		Data        json.RawMessage `json:"data"`
		Valid       bool            `json:"valid"`
	} `json:"tests"`
}

// addRemotes registers the suite's remote documents under
// http://localhost:1234/, as a configuration would carry them.
func addRemotes(t *testing.T, c *Compiler) {
	root := filepath.Join(suiteDir, "remotes")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		doc, _ := os.ReadFile(p)
		if err := c.Add("http://localhost:1234/"+filepath.ToSlash(rel), doc); err != nil {
			t.Fatalf("remote %s: %v", rel, err)
		}
		return nil
	})
}

// TestJSONSchemaTestSuite runs the official JSON Schema Test Suite (draft
// 2020-12, required cases) against the validator as the gateway configures
// it. The optional cases (format assertions, ECMA-262 regex details, bignum,
// cross-draft) are not run: the gateway treats format as an annotation, the
// specification's default.
func TestJSONSchemaTestSuite(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(suiteDir, "tests", "draft2020-12", "*.json"))
	if len(files) == 0 {
		t.Skipf("SKIP: no test suite at %s", suiteDir)
	}
	passed, failed := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var groups []suiteGroup
		if err := json.Unmarshal(data, &groups); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for gi, g := range groups {
			c := NewCompiler(Limits{})
			addRemotes(t, c)
			url := "http://raygate.test/" + filepath.Base(f) + "/" + strconv.Itoa(gi)
			if err := c.Add(url, g.Schema); err != nil {
				t.Errorf("%s / %s: add: %v", filepath.Base(f), g.Description, err)
				failed += len(g.Tests)
				continue
			}
			s, err := c.Compile(url)
			if err != nil {
				t.Errorf("%s / %s: compile: %v", filepath.Base(f), g.Description, err)
				failed += len(g.Tests)
				continue
			}
			for _, tc := range g.Tests {
				v, err := s.Validate(tc.Data)
				if err != nil {
					t.Errorf("%s / %s / %s: %v", filepath.Base(f), g.Description, tc.Description, err)
					failed++
					continue
				}
				if got := len(v) == 0; got != tc.Valid {
					t.Errorf("%s / %s / %s: valid = %v, want %v (%v)", filepath.Base(f), g.Description, tc.Description, got, tc.Valid, v)
					failed++
					continue
				}
				passed++
			}
		}
	}
	t.Logf("JSON Schema Test Suite draft 2020-12 (required): %d passed, %d failed, in %d files", passed, failed, len(files))
}
