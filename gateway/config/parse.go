package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileBytes bounds a configuration file.
const MaxFileBytes = 4 << 20

// Duration is a time.Duration written as "1.5s", "250ms" or "2m".
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration like 500ms, 10s or 2m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Error is a configuration problem, located in the file.
type Error struct {
	File string
	Line int    // 0 when unknown
	Path string // field path, e.g. routes[2].match.path
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// fieldError is what Validate returns: a path and a message, located later.
type fieldError struct {
	path, msg string
}

func (e *fieldError) Error() string { return e.path + ": " + e.msg }

func errorf(path, format string, a ...any) error {
	return &fieldError{path, fmt.Sprintf(format, a...)}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Parse decodes, defaults and validates a configuration. name is the file
// name used in messages.
func Parse(name string, data []byte) (*Config, error) {
	if len(data) > MaxFileBytes {
		return nil, &Error{File: name, Msg: fmt.Sprintf("file of %d bytes exceeds %d", len(data), MaxFileBytes)}
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: "empty configuration"}
		}
		return nil, yamlError(name, err)
	}
	var root yaml.Node
	yaml.Unmarshal(data, &root)
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return nil, &Error{File: name, Line: lineOf(&root, fe.path), Path: fe.path, Msg: fe.msg}
		}
		return nil, &Error{File: name, Msg: err.Error()}
	}
	return &c, nil
}

// yamlError turns yaml.v3's messages ("yaml: line 4: field x not found in
// type config.Route") into located errors, one per line.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var msgs []string
		for _, e := range te.Errors {
			msgs = append(msgs, locate(name, e))
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	return errors.New(locate(name, err.Error()))
}

func locate(name, msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		msg = m[2]
		msg = strings.ReplaceAll(msg, " in type config.", " in ")
		return fmt.Sprintf("%s:%s: %s", name, m[1], msg)
	}
	return name + ": " + msg
}

// lineOf finds the line of a field path such as routes[2].match.path in a
// parsed document, or of its nearest existing ancestor.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range splitPath(path) {
		var next *yaml.Node
		if idx, err := strconv.Atoi(part); err == nil {
			if n.Kind == yaml.SequenceNode && idx < len(n.Content) {
				next = n.Content[idx]
			}
		} else if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		}
		if next == nil {
			return line
		}
		n = next
		if n.Kind != yaml.ScalarNode || line == 0 {
			line = n.Line
		}
	}
	return line
}

func splitPath(p string) []string {
	p = strings.NewReplacer("[", ".", "]", "").Replace(p)
	var out []string
	for _, s := range strings.Split(p, ".") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Load reads and parses a configuration file.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// ParseRoute parses one route written as YAML (a flow mapping such as
// `{name: x, match: {prefix: /x/}, service: s}` on the console) and fills its
// defaults. It is validated with the configuration it joins.
func ParseRoute(text string) (Route, error) {
	var r Route
	err := strictUnmarshal(text, &r)
	if r.Respond != nil {
		r.Respond.setDefaults()
	}
	return r, err
}

// ParseService parses one service written as YAML.
func ParseService(text string) (Service, error) {
	var s Service
	return s, strictUnmarshal(text, &s)
}

func strictUnmarshal(text string, v any) error {
	if len(text) > MaxFileBytes {
		return errors.New("definition too long")
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty definition")
		}
		return errors.New(strings.TrimPrefix(strings.ReplaceAll(err.Error(), " in type config.", " in "), "yaml: "))
	}
	return nil
}

// Marshal renders the configuration as YAML, with secrets (TLS keys, the
// admin token) replaced by a placeholder.
func (c *Config) Marshal() ([]byte, error) {
	cp := c.Clone()
	if cp.Admin.Token != "" {
		cp.Admin.Token = "<redacted>"
	}
	for i := range cp.Listeners {
		if t := cp.Listeners[i].TLS; t != nil {
			tt := *t
			if tt.KeyPEM != "" {
				tt.KeyPEM = "<redacted>"
			}
			cp.Listeners[i].TLS = &tt
		}
	}
	return yaml.Marshal(cp)
}

// Clone returns a deep copy, so an operation can change it and validate
// the result without touching the configuration in force.
func (c *Config) Clone() *Config {
	data, err := yaml.Marshal(c)
	if err != nil {
		panic(err) // the types always marshal
	}
	var cp Config
	if err := yaml.Unmarshal(data, &cp); err != nil {
		panic(err)
	}
	return &cp
}
