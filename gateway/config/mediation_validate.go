package config

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Mediation defaults.
const (
	DefaultCacheMaxBytes         = 32 << 20
	DefaultCacheMaxEntries       = 10000
	DefaultCacheMaxEntryBytes    = 1 << 20
	DefaultRequestMediateBytes   = 1 << 20
	DefaultResponseMediateBytes  = 4 << 20
	DefaultCacheLockTimeout      = 5 * time.Second
	DefaultXMLRoot               = "root"
	DefaultErrorTemplateType     = "application/json"
	maxTransformsPerSide         = 64
	maxCacheKeyParts             = 16
	maxSchemaDocumentBytes       = 1 << 20
	maxDescriptorSetBase64Length = 4 << 20
)

// TransformOps are the operations a transform may name.
var TransformOps = []string{
	"header.add", "header.set", "header.remove", "header.rename",
	"query.add", "query.set", "query.remove", "query.rename",
	"path.rewrite",
	"body.add", "body.set", "body.remove", "body.rename", "body.move",
	"status.set",
}

// DefaultCacheStatuses are cacheable by default (RFC 9110 §15.1, less 206
// and 501, which a gateway should not store without asking).
var DefaultCacheStatuses = []int{200, 203, 204, 300, 301, 404, 410}

func (m *Mediation) setDefaults() {
	c := &m.Cache
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultCacheMaxBytes
	}
	if c.MaxEntries == 0 {
		c.MaxEntries = DefaultCacheMaxEntries
	}
	if c.MaxEntryBytes == 0 {
		c.MaxEntryBytes = DefaultCacheMaxEntryBytes
	}
	for i := range m.Policies {
		p := &m.Policies[i]
		if r := p.Request; r != nil {
			if r.MaxBodyBytes == 0 {
				r.MaxBodyBytes = DefaultRequestMediateBytes
			}
			r.Convert.setDefaults()
			setTransformDefaults(r.Transforms)
		}
		if r := p.Response; r != nil {
			if r.MaxBodyBytes == 0 {
				r.MaxBodyBytes = DefaultResponseMediateBytes
			}
			r.Convert.setDefaults()
			setTransformDefaults(r.Transforms)
		}
		if c := p.Cache; c != nil {
			if len(c.Methods) == 0 {
				c.Methods = []string{"GET", "HEAD"}
			}
			if len(c.Statuses) == 0 {
				c.Statuses = slices.Clone(DefaultCacheStatuses)
			}
			if len(c.Key) == 0 {
				c.Key = []string{"method", "path", "query"}
			}
			if c.LockTimeout == 0 {
				c.LockTimeout = Duration(DefaultCacheLockTimeout)
			}
		}
		if e := p.Errors; e != nil && e.ContentType == "" {
			e.ContentType = DefaultErrorTemplateType
		}
	}
}

func (c *Convert) setDefaults() {
	if c != nil && c.XMLRoot == "" {
		c.XMLRoot = DefaultXMLRoot
	}
}

func setTransformDefaults(ts []Transform) {
	for i := range ts {
		if ts[i].OnError == "" {
			ts[i].OnError = "skip"
		}
		if ts[i].Type == "" && strings.HasPrefix(ts[i].Op, "body.") {
			ts[i].Type = "string"
		}
	}
}

func (c *Config) validateMediation() error {
	m := &c.Mediation
	schemas := map[string]bool{}
	for i, s := range m.Schemas {
		at := fmt.Sprintf("mediation.schemas[%d]", i)
		if err := validName(s.Name); err != nil {
			return errorf(at+".name", "%v", err)
		}
		if schemas[s.Name] {
			return errorf(at+".name", "schema %q defined twice", s.Name)
		}
		schemas[s.Name] = true
		if len(s.Document) > maxSchemaDocumentBytes {
			return errorf(at+".document", "%d bytes is over the %d byte limit", len(s.Document), maxSchemaDocumentBytes)
		}
		var v any
		if err := json.Unmarshal([]byte(s.Document), &v); err != nil {
			return errorf(at+".document", "not JSON: %v", err)
		}
		switch v.(type) {
		case map[string]any, bool:
		default:
			return errorf(at+".document", "a schema is a JSON object or a boolean")
		}
	}
	protos := map[string]bool{}
	for i, p := range m.Protos {
		at := fmt.Sprintf("mediation.protos[%d]", i)
		if err := validName(p.Name); err != nil {
			return errorf(at+".name", "%v", err)
		}
		if protos[p.Name] {
			return errorf(at+".name", "descriptor set %q defined twice", p.Name)
		}
		protos[p.Name] = true
		if len(p.DescriptorSet) > maxDescriptorSetBase64Length {
			return errorf(at+".descriptor_set", "over %d characters", maxDescriptorSetBase64Length)
		}
		if _, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(p.DescriptorSet), "")); err != nil {
			return errorf(at+".descriptor_set", "not base64: %v", err)
		}
	}
	cl := m.Cache
	switch {
	case cl.MaxBytes < 0:
		return errorf("mediation.cache.max_bytes", "%d is negative", cl.MaxBytes)
	case cl.MaxEntries < 0:
		return errorf("mediation.cache.max_entries", "%d is negative", cl.MaxEntries)
	case cl.MaxEntryBytes < 0 || cl.MaxEntryBytes > cl.MaxBytes:
		return errorf("mediation.cache.max_entry_bytes", "%d is outside 0..max_bytes (%d)", cl.MaxEntryBytes, cl.MaxBytes)
	}
	policies := map[string]bool{}
	for i := range m.Policies {
		p := &m.Policies[i]
		at := fmt.Sprintf("mediation.policies[%d]", i)
		if err := validName(p.Name); err != nil {
			return errorf(at+".name", "%v", err)
		}
		if policies[p.Name] {
			return errorf(at+".name", "policy %q defined twice", p.Name)
		}
		policies[p.Name] = true
		ref := func(field, name string) error {
			if name != "" && !schemas[name] {
				return errorf(at+field, "no schema named %q in mediation.schemas", name)
			}
			return nil
		}
		if r := p.Request; r != nil {
			for _, e := range []error{ref(".request.schema", r.Schema), ref(".request.query_schema", r.QuerySchema), ref(".request.params_schema", r.ParamsSchema)} {
				if e != nil {
					return e
				}
			}
			if r.MaxBodyBytes < 0 {
				return errorf(at+".request.max_body_bytes", "%d is negative", r.MaxBodyBytes)
			}
			if err := validConvert(at+".request.convert", r.Convert, protos, false); err != nil {
				return err
			}
			if err := validTransforms(at+".request.transforms", r.Transforms, false); err != nil {
				return err
			}
		}
		if r := p.Response; r != nil {
			if err := ref(".response.schema", r.Schema); err != nil {
				return err
			}
			if r.MaxBodyBytes < 0 {
				return errorf(at+".response.max_body_bytes", "%d is negative", r.MaxBodyBytes)
			}
			if err := validConvert(at+".response.convert", r.Convert, protos, true); err != nil {
				return err
			}
			if err := validTransforms(at+".response.transforms", r.Transforms, true); err != nil {
				return err
			}
		}
		if rc := p.Cache; rc != nil {
			if err := validRouteCache(at+".cache", rc); err != nil {
				return err
			}
		}
		if e := p.Errors; e != nil {
			if e.Body == "" {
				return errorf(at+".errors.body", "required")
			}
			if _, err := ParseErrorTemplate(e.Body); err != nil {
				return errorf(at+".errors.body", "%v", err)
			}
		}
	}
	for i, rt := range c.Routes {
		if rt.Mediation != "" && !policies[rt.Mediation] {
			return errorf(fmt.Sprintf("routes[%d].mediation", i), "no policy named %q in mediation.policies", rt.Mediation)
		}
	}
	return nil
}

// ErrorFields are the problem members an error template may name.
var ErrorFields = []string{"type", "title", "status", "detail", "request_id", "kind"}

// ErrorTemplatePart is a piece of a parsed error template: literal text,
// or (Field set) a problem member.
type ErrorTemplatePart struct {
	Text, Field string
}

// ParseErrorTemplate parses an error body template: text with ${field}
// placeholders (ErrorFields). It is deliberately not text/template: no
// logic, nothing to fail at run time, and no reflection (which would keep
// every method of every type in the image).
func ParseErrorTemplate(body string) ([]ErrorTemplatePart, error) {
	var parts []ErrorTemplatePart
	for body != "" {
		i := strings.Index(body, "${")
		if i < 0 {
			parts = append(parts, ErrorTemplatePart{Text: body})
			break
		}
		if i > 0 {
			parts = append(parts, ErrorTemplatePart{Text: body[:i]})
		}
		j := strings.IndexByte(body[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf(`unclosed "${" at offset %d`, i)
		}
		name := body[i+2 : i+j]
		if !slices.Contains(ErrorFields, name) {
			return nil, fmt.Errorf("${%s} is not one of ${%s}", name, strings.Join(ErrorFields, "}, ${"))
		}
		parts = append(parts, ErrorTemplatePart{Field: name})
		body = body[i+j+1:]
	}
	return parts, nil
}

func validConvert(at string, c *Convert, protos map[string]bool, response bool) error {
	if c == nil {
		return nil
	}
	switch c.To {
	case "json", "xml", "protobuf":
	case "accept":
		if !response {
			return errorf(at+".to", `"accept" chooses the format from the client's Accept header: responses only`)
		}
	case "":
		return errorf(at+".to", "required: json, xml, protobuf or accept")
	default:
		return errorf(at+".to", "%q is not json, xml, protobuf or accept", c.To)
	}
	if (c.Proto == "") != (c.Message == "") {
		return errorf(at, "proto and message go together")
	}
	if c.Proto != "" && !protos[c.Proto] {
		return errorf(at+".proto", "no descriptor set named %q in mediation.protos", c.Proto)
	}
	if c.To == "protobuf" && c.Message == "" {
		return errorf(at+".message", "required to convert to protobuf")
	}
	if !xmlName(c.XMLRoot) {
		return errorf(at+".xml_root", "%q is not an XML element name", c.XMLRoot)
	}
	return nil
}

func xmlName(s string) bool {
	if s == "" || strings.HasPrefix(strings.ToLower(s), "xml") {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func validTransforms(at string, ts []Transform, response bool) error {
	if len(ts) > maxTransformsPerSide {
		return errorf(at, "%d transforms, at most %d", len(ts), maxTransformsPerSide)
	}
	for i, t := range ts {
		at := fmt.Sprintf("%s[%d]", at, i)
		if !slices.Contains(TransformOps, t.Op) {
			return errorf(at+".op", "%q is not one of %s", t.Op, strings.Join(TransformOps, ", "))
		}
		kind, verb, _ := strings.Cut(t.Op, ".")
		switch {
		case response && (kind == "query" || kind == "path"):
			return errorf(at+".op", "%s changes the request: not on responses", t.Op)
		case !response && kind == "status":
			return errorf(at+".op", "status.set changes the response: not on requests")
		}
		needName := kind != "path" && kind != "status"
		needTo := verb == "rename" || verb == "move"
		needValue := verb == "add" || verb == "set" || verb == "rewrite"
		if kind == "status" {
			needValue = false
			if t.Status < 100 || t.Status > 599 {
				return errorf(at+".status", "%d is not an HTTP status", t.Status)
			}
			if t.When != 0 && (t.When < 100 || t.When > 599) {
				return errorf(at+".when", "%d is not an HTTP status", t.When)
			}
		} else if t.Status != 0 || t.When != 0 {
			return errorf(at, "status and when belong to status.set")
		}
		if needName && t.Name == "" {
			return errorf(at+".name", "required by %s", t.Op)
		}
		if !needName && t.Name != "" {
			return errorf(at+".name", "%s takes no name", t.Op)
		}
		if needTo && t.To == "" {
			return errorf(at+".to", "required by %s", t.Op)
		}
		if !needTo && t.To != "" {
			return errorf(at+".to", "%s takes no to", t.Op)
		}
		if verb == "rewrite" && t.Value == "" {
			return errorf(at+".value", "required by %s", t.Op)
		}
		if !needValue && t.Value != "" {
			return errorf(at+".value", "%s takes no value", t.Op)
		}
		switch kind {
		case "header":
			if !validHeaderName(t.Name) || needTo && !validHeaderName(t.To) {
				return errorf(at, "header names are HTTP tokens")
			}
			if strings.EqualFold(t.Name, "Host") || strings.EqualFold(t.Name, "Content-Length") || strings.EqualFold(t.Name, "Transfer-Encoding") ||
				strings.EqualFold(t.To, "Content-Length") || strings.EqualFold(t.To, "Transfer-Encoding") {
				return errorf(at+".name", "%s is framing, not a header a transform may touch", t.Name)
			}
		case "body":
			if !validPointer(t.Name) || verb == "move" && !validPointer(t.To) {
				return errorf(at, `body fields are JSON pointers such as "/customer/id"`)
			}
			if verb == "rename" && strings.Contains(t.To, "/") {
				return errorf(at+".to", "rename takes the new key only; use body.move to move a field")
			}
			switch t.Type {
			case "string", "number", "boolean", "json":
			default:
				return errorf(at+".type", "%q is not string, number, boolean or json", t.Type)
			}
		case "path":
			if !strings.HasPrefix(t.Value, "/") {
				return errorf(at+".value", "a path template starts with /")
			}
		}
		if err := checkValueTemplate(t.Value); err != nil {
			return errorf(at+".value", "%v", err)
		}
		if t.OnError != "skip" && t.OnError != "fail" {
			return errorf(at+".on_error", "%q is not skip or fail", t.OnError)
		}
	}
	return nil
}

// checkValueTemplate checks a transform value's {placeholders}.
func checkValueTemplate(v string) error {
	for v != "" {
		i := strings.IndexAny(v, "{}")
		if i < 0 {
			return nil
		}
		if strings.HasPrefix(v[i:], "{{") || strings.HasPrefix(v[i:], "}}") {
			v = v[i+2:]
			continue
		}
		if v[i] == '}' {
			return fmt.Errorf(`unmatched "}" (write "}}" for a literal one)`)
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			return fmt.Errorf(`unclosed "{" (write "{{" for a literal one)`)
		}
		name := v[i+1 : i+j]
		src, key, _ := strings.Cut(name, ".")
		switch {
		case name == "route" || name == "request_id" || name == "identity.subject" || name == "identity.role" || name == "method" || name == "path":
		case (src == "param" || src == "query" || src == "header") && key != "":
		default:
			return fmt.Errorf("{%s} is not a known value (param.NAME, query.NAME, header.NAME, identity.subject, identity.role, route, request_id, method, path)", name)
		}
		v = v[i+j+1:]
	}
	return nil
}

func validPointer(p string) bool {
	if !strings.HasPrefix(p, "/") || p == "/" {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 >= len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return false
		}
	}
	return true
}

// validHeaderName: a header name is an RFC 9110 token.
func validHeaderName(s string) bool { return httpguts.ValidHeaderFieldName(s) }

func validRouteCache(at string, rc *RouteCache) error {
	if rc.TTL <= 0 {
		return errorf(at+".ttl", "required and positive")
	}
	if rc.MaxTTL < 0 || rc.MaxTTL > 0 && rc.MaxTTL < rc.TTL {
		return errorf(at+".max_ttl", "%v is below ttl %v", rc.MaxTTL.D(), rc.TTL.D())
	}
	if rc.StaleWhileRevalidate < 0 {
		return errorf(at+".stale_while_revalidate", "negative")
	}
	if rc.LockTimeout < 0 {
		return errorf(at+".lock_timeout", "negative")
	}
	for i, m := range rc.Methods {
		if m != http.MethodGet && m != http.MethodHead {
			return errorf(fmt.Sprintf("%s.methods[%d]", at, i), "%q: only GET and HEAD responses are cached (other methods change state)", m)
		}
	}
	for i, s := range rc.Statuses {
		if s < 200 || s > 599 || s == 206 {
			return errorf(fmt.Sprintf("%s.statuses[%d]", at, i), "%d cannot be cached", s)
		}
	}
	if len(rc.Key) > maxCacheKeyParts {
		return errorf(at+".key", "%d parts, at most %d", len(rc.Key), maxCacheKeyParts)
	}
	for i, k := range rc.Key {
		name, ok := strings.CutPrefix(k, "header:")
		switch {
		case k == "method" || k == "path" || k == "query" || k == "identity":
		case ok && validHeaderName(name):
		default:
			return errorf(fmt.Sprintf("%s.key[%d]", at, i), "%q is not method, path, query, identity or header:NAME", k)
		}
	}
	return nil
}
