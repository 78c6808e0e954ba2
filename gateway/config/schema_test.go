package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite configs/raygate.schema.json from the Go types")

const schemaPath = "../../configs/raygate.schema.json"

// fieldDocs reads the doc comment of every struct field in config.go,
// keyed "Type.Field", so the schema's descriptions are the types' own docs.
func fieldDocs(t *testing.T) map[string]string {
	docs := map[string]string{}
	for _, file := range []string{"config.go", "auth.go", "resilience.go", "mediation.go"} {
		fieldDocsOf(t, file, docs)
	}
	return docs
}

func fieldDocsOf(t *testing.T, file string, docs map[string]string) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return true
		}
		for _, fld := range st.Fields.List {
			if fld.Doc == nil {
				continue
			}
			for _, name := range fld.Names {
				docs[ts.Name.Name+"."+name.Name] = strings.TrimSpace(strings.Join(strings.Fields(fld.Doc.Text()), " "))
			}
		}
		return true
	})
}

var durationType = reflect.TypeOf(Duration(0))

func schemaOf(t reflect.Type, docs map[string]string) map[string]any {
	if t == durationType {
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), docs)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), docs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), docs)}
	case reflect.Struct:
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			s := schemaOf(f.Type, docs)
			if d := docs[t.Name()+"."+f.Name]; d != "" {
				s["description"] = d
			}
			props[name] = s
		}
		return map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	}
	panic("schema: unhandled type " + t.String())
}

func generateSchema(t *testing.T) []byte {
	s := schemaOf(reflect.TypeOf(Config{}), fieldDocs(t))
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://raygate.dev/schemas/raygate.schema.json"
	s["title"] = "raygate configuration"
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSchemaInStep keeps configs/raygate.schema.json equal to what the Go
// types generate; run with -update after changing a type.
func TestSchemaInStep(t *testing.T) {
	want := generateSchema(t)
	if *update {
		if err := os.WriteFile(schemaPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of step with the Go types: run go test ./gateway/config -run TestSchemaInStep -update", schemaPath)
	}
}

// TestSchemaAcceptsShippedConfigs validates every file in configs/ against
// the schema, so the schema and the parser agree on real files.
func TestSchemaAcceptsShippedConfigs(t *testing.T) {
	c := jsonschema.NewCompiler()
	var doc any
	if err := json.Unmarshal(generateSchema(t), &doc); err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("raygate.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("raygate.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"../../kernel/config.yaml"}
	entries, _ := os.ReadDir("../../configs")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			files = append(files, "../../configs/"+e.Name())
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f, data); err != nil {
			t.Errorf("parse: %v", err)
		}
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		// round-trip through JSON so the validator sees JSON types
		j, _ := json.Marshal(v)
		var jv any
		json.Unmarshal(j, &jv)
		if err := sch.Validate(jv); err != nil {
			t.Errorf("%s does not match the schema: %v", f, err)
		}
	}
	// and the schema rejects an unknown field, as the parser does
	var bad any
	json.Unmarshal([]byte(`{"routes": [{"name": "x", "match": {"path": "/"}, "respond": {}, "colour": "red"}]}`), &bad)
	if sch.Validate(bad) == nil {
		t.Error("schema accepted an unknown field")
	}
}
