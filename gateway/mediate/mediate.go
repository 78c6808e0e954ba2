package mediate

import (
	"encoding/base64"
	"fmt"
	"log"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/mediate/cache"
	"github.com/raygate/raygate/gateway/mediate/convert"
	"github.com/raygate/raygate/gateway/mediate/protoconv"
	"github.com/raygate/raygate/gateway/mediate/transform"
)

// Mediate is the stage: a RequestStage (validation, conversion,
// transforms, cache lookup), a ResponseStage (the same on the answer, and
// cache store), an Observer (it lets go of a cache fetch when an exchange
// ends, whatever happened) and an ErrorWriter (routes' error templates).
// Policies are compiled once, in New; the cache and the counters survive
// route changes.
type Mediate struct {
	schemas  map[string]*namedSchema
	protos   map[string]*protoconv.Set
	policies map[string]*policy
	names    []string // policy names, sorted
	store    *cache.Store
	now      func() time.Time
	// Log reports response validation failures (default log.Printf).
	Log func(format string, args ...any)
}

var (
	_ gateway.RequestStage  = (*Mediate)(nil)
	_ gateway.ResponseStage = (*Mediate)(nil)
	_ gateway.RouteCompiler = (*Mediate)(nil)
	_ gateway.Observer      = (*Mediate)(nil)
	_ gateway.ErrorWriter   = (*Mediate)(nil)
)

// namedSchema is a compiled schema and its counters.
type namedSchema struct {
	name        string
	schema      *Schema
	validations atomic.Uint64
	failures    atomic.Uint64
}

func (s *namedSchema) validate(doc []byte) ([]Violation, error) {
	s.validations.Add(1)
	v, err := s.schema.Validate(doc)
	if err != nil || len(v) > 0 {
		s.failures.Add(1)
	}
	return v, err
}

func (s *namedSchema) validateValue(v any) []Violation {
	s.validations.Add(1)
	out := s.schema.ValidateValue(v)
	if len(out) > 0 {
		s.failures.Add(1)
	}
	return out
}

// policy is a compiled mediation policy.
type policy struct {
	cfg config.MediationPolicy

	reqSchema, querySchema, paramsSchema *namedSchema
	reqConvert                           *converter
	reqTransforms                        *transform.List
	reqMax                               int64

	respSchema     *namedSchema
	respConvert    *converter
	respTransforms *transform.List
	respMax        int64

	cache *cachePolicy
	errs  []config.ErrorTemplatePart

	requestsRefused  atomic.Uint64 // 4xx the request side answered
	responsesRefused atomic.Uint64 // 502s the response side answered
	transformSkips   atomic.Uint64
	conversions      atomic.Uint64
}

// needsRequestBody reports whether the request side reads the body whole.
func (p *policy) needsRequestBody() bool {
	return p.reqSchema != nil || p.reqConvert != nil || p.reqTransforms != nil && p.reqTransforms.NeedsBody()
}

// needsResponseBody reports whether the response side reads the body
// whole for mediation (the cache reads it on its own terms).
func (p *policy) needsResponseBody() bool {
	return p.respSchema != nil || p.respConvert != nil || p.respTransforms != nil && p.respTransforms.NeedsBody()
}

// converter is a compiled Convert.
type converter struct {
	to      string // json, xml, protobuf or accept
	message *protoconv.Message
	root    string
}

// New compiles the mediation section: every schema, descriptor set and
// policy. An error names the part of the configuration at fault.
func New(cfg config.Mediation) (*Mediate, error) {
	m := &Mediate{
		schemas:  map[string]*namedSchema{},
		protos:   map[string]*protoconv.Set{},
		policies: map[string]*policy{},
		now:      time.Now,
		Log:      log.Printf,
	}
	c := NewCompiler(Limits{})
	for _, s := range cfg.Schemas {
		// a schema is known by its name, and by its own $id if it has one
		if err := c.Add(schemaURL(s.Name), []byte(s.Document)); err != nil {
			return nil, fmt.Errorf("mediation.schemas %s: %v", s.Name, err)
		}
	}
	for _, s := range cfg.Schemas {
		cs, err := c.Compile(schemaURL(s.Name))
		if err != nil {
			return nil, fmt.Errorf("mediation.schemas %s: %v", s.Name, err)
		}
		m.schemas[s.Name] = &namedSchema{name: s.Name, schema: cs}
	}
	for _, p := range cfg.Protos {
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(p.DescriptorSet), ""))
		if err != nil {
			return nil, fmt.Errorf("mediation.protos %s: %v", p.Name, err)
		}
		set, err := protoconv.NewSet(raw)
		if err != nil {
			return nil, fmt.Errorf("mediation.protos %s: %v", p.Name, err)
		}
		m.protos[p.Name] = set
	}
	lim := cfg.Cache
	m.store = cache.New(cache.Limits{MaxBytes: lim.MaxBytes, MaxEntries: lim.MaxEntries, MaxEntryBytes: lim.MaxEntryBytes})
	for _, pc := range cfg.Policies {
		p, err := m.compilePolicy(pc)
		if err != nil {
			return nil, fmt.Errorf("mediation.policies %s: %v", pc.Name, err)
		}
		m.policies[pc.Name] = p
		m.names = append(m.names, pc.Name)
	}
	sort.Strings(m.names)
	return m, nil
}

// schemaURL is the URL a named schema is registered under, so that one
// schema can $ref another as "name" relative to it.
func schemaURL(name string) string { return "raygate:///schemas/" + name }

func (m *Mediate) compilePolicy(pc config.MediationPolicy) (*policy, error) {
	p := &policy{cfg: pc}
	var err error
	if r := pc.Request; r != nil {
		p.reqSchema, p.querySchema, p.paramsSchema = m.schemas[r.Schema], m.schemas[r.QuerySchema], m.schemas[r.ParamsSchema]
		p.reqMax = r.MaxBodyBytes
		if p.reqConvert, err = m.compileConvert(r.Convert); err != nil {
			return nil, fmt.Errorf("request.convert: %v", err)
		}
		if len(r.Transforms) > 0 {
			if p.reqTransforms, err = transform.Compile(r.Transforms, false); err != nil {
				return nil, fmt.Errorf("request.transforms: %v", err)
			}
		}
	}
	if r := pc.Response; r != nil {
		p.respSchema = m.schemas[r.Schema]
		p.respMax = r.MaxBodyBytes
		if p.respConvert, err = m.compileConvert(r.Convert); err != nil {
			return nil, fmt.Errorf("response.convert: %v", err)
		}
		if len(r.Transforms) > 0 {
			if p.respTransforms, err = transform.Compile(r.Transforms, true); err != nil {
				return nil, fmt.Errorf("response.transforms: %v", err)
			}
		}
	}
	if rc := pc.Cache; rc != nil {
		p.cache = newCachePolicy(rc)
	}
	if e := pc.Errors; e != nil {
		if p.errs, err = config.ParseErrorTemplate(e.Body); err != nil {
			return nil, fmt.Errorf("errors.body: %v", err)
		}
	}
	return p, nil
}

func (m *Mediate) compileConvert(c *config.Convert) (*converter, error) {
	if c == nil {
		return nil, nil
	}
	cv := &converter{to: c.To, root: c.XMLRoot}
	if c.Message != "" {
		set := m.protos[c.Proto]
		if set == nil {
			return nil, fmt.Errorf("no descriptor set named %q", c.Proto)
		}
		msg, err := set.Message(c.Message)
		if err != nil {
			return nil, err
		}
		cv.message = msg
	}
	return cv, nil
}

// Name implements gateway.RequestStage.
func (*Mediate) Name() string { return "mediate" }

// CompileRoute implements gateway.RouteCompiler: the route's policy.
func (m *Mediate) CompileRoute(r *config.Route) (any, error) {
	if r.Mediation == "" {
		return nil, nil
	}
	p := m.policies[r.Mediation]
	if p == nil {
		return nil, fmt.Errorf("no mediation policy named %q (policies are fixed when the gateway starts)", r.Mediation)
	}
	if p.cfg.Request != nil && (r.Rewrite != "" || r.StripPrefix) {
		for _, t := range p.cfg.Request.Transforms {
			if t.Op == "path.rewrite" {
				return nil, fmt.Errorf("policy %q rewrites the path, and so does the route (rewrite or strip_prefix): keep one", r.Mediation)
			}
		}
	}
	return p, nil
}

// Store returns the response cache.
func (m *Mediate) Store() *cache.Store { return m.store }

// convertLimits bound a conversion of a body already bounded by max.
func convertLimits(max int64) convert.Limits {
	return convert.Limits{MaxDepth: DefaultLimits.MaxDepth, MaxNodes: convert.DefaultLimits.MaxNodes, MaxBytes: max}
}

func protoLimits(max int64) protoconv.Limits {
	return protoconv.Limits{MaxBytes: max, MaxDepth: DefaultLimits.MaxDepth}
}
