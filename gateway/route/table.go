// Package route is raygate's route table: path normalisation (normalize.go),
// pattern compilation into a segment tree, and matching with a documented,
// deterministic precedence. It knows nothing of services or proxies: a
// route's payload is the caller's type T.
//
// # Patterns
//
//   - exact: "/v1/users" matches that path only (a trailing slash counts).
//   - template: segments of literals, "{name}" (one segment, captured as
//     name), "*" (one segment, captured as "*") and a final "**" (zero or
//     more segments, captured as "**"), e.g. "/v1/users/{id}/orders/**".
//   - prefix: "/v1/" matches /v1 and every path below it, by whole
//     segments: "/v1" does not match "/v10". A trailing slash is ignored.
//   - regex: an RE2 expression matched against the whole normalised path
//     (anchored); named groups become parameters.
//
// Besides the path a route may require methods, hosts ("api.example.com" or
// "*.example.com"), headers and query parameters (a value of "*" means
// present with any value).
//
// # Precedence
//
// Among the routes whose path pattern and conditions match a request:
//
//  1. the highest explicit priority wins (default 0);
//  2. then exact and template routes, most specific first: at each segment,
//     from the left, a literal beats "{param}" or "*", which beat "**";
//  3. then prefix routes, longest prefix first;
//  4. then regex routes, in declared order.
//
// At the same pattern, the route with more conditions (methods, hosts,
// headers, query) is tried first, then declared order. Two routes that no
// request could tell apart (same pattern, same conditions, overlapping
// methods, same priority) are a configuration error.
//
// Lookup cost grows with the path's depth, not with the number of routes
// (regex routes excepted: they are tried in order, after the tree).
package route

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Kind is a pattern kind.
type Kind int

// Pattern kinds, in precedence order.
const (
	Exact Kind = iota
	Template
	Prefix
	Regex
)

func (k Kind) String() string {
	return [...]string{"exact", "template", "prefix", "regex"}[k]
}

// Spec is what a route matches.
type Spec struct {
	Kind    Kind
	Pattern string
	// Methods, if any, restrict the route to these methods.
	Methods []string
	// Hosts, if any, restrict the route to these hosts; "*.example.com"
	// matches any subdomain (not example.com itself).
	Hosts []string
	// Headers and Query require these values; "*" means present.
	Headers map[string]string
	Query   map[string]string
	// Priority overrides the precedence: higher wins.
	Priority int
}

// Entry is one route to put in a table.
type Entry[T any] struct {
	Name  string
	Spec  Spec
	Value T
}

// Param is one captured path parameter.
type Param struct {
	Name, Value string
}

// Params are the parameters a match captured, in pattern order.
type Params []Param

// Get returns the named parameter's value, or "".
func (ps Params) Get(name string) string {
	for _, p := range ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Table is a compiled, immutable route table; it is safe for concurrent use.
type Table[T any] struct {
	root        *node[T]
	regexes     []*entry[T]
	hasPriority bool
	size        int
}

type node[T any] struct {
	lits   map[string]*node[T]
	param  *node[T]
	ends   []*entry[T] // exact and template routes ending here
	tails  []*entry[T] // templates whose "**" starts here
	prefix []*entry[T] // prefix routes whose prefix ends here
}

type entry[T any] struct {
	Entry[T]
	order      int
	paramNames []string // names of "{x}"/"*" segments, in order
	methods    map[string]bool
	hostExact  map[string]bool
	hostSuffix []string
	re         *regexp.Regexp
	conds      int
}

// BuildError is a bad route: Index is its position in the entries.
type BuildError struct {
	Index int
	Err   error
}

func (e *BuildError) Error() string { return e.Err.Error() }
func (e *BuildError) Unwrap() error { return e.Err }

// Build compiles entries into a table, or reports (as a *BuildError) the
// first bad pattern or the first pair of routes that cannot be told apart.
func Build[T any](entries []Entry[T]) (*Table[T], error) {
	t := &Table[T]{root: &node[T]{}, size: len(entries)}
	for i, e := range entries {
		en, err := compile(e, i)
		if err != nil {
			return nil, &BuildError{i, fmt.Errorf("route %q: %w", e.Name, err)}
		}
		if e.Spec.Priority != 0 {
			t.hasPriority = true
		}
		if err := t.insert(en); err != nil {
			return nil, &BuildError{i, err}
		}
	}
	t.sortAll(t.root)
	return t, nil
}

// Walk calls fn for every route, in declared order.
func (t *Table[T]) Walk(fn func(name string, v T)) {
	var all []*entry[T]
	var visit func(n *node[T])
	visit = func(n *node[T]) {
		all = append(all, n.ends...)
		all = append(all, n.tails...)
		all = append(all, n.prefix...)
		for _, c := range n.lits {
			visit(c)
		}
		if n.param != nil {
			visit(n.param)
		}
	}
	visit(t.root)
	all = append(all, t.regexes...)
	sort.Slice(all, func(i, j int) bool { return all[i].order < all[j].order })
	for _, e := range all {
		fn(e.Name, e.Value)
	}
}

// Len returns the number of routes in the table.
func (t *Table[T]) Len() int { return t.size }

func compile[T any](e Entry[T], order int) (*entry[T], error) {
	en := &entry[T]{Entry: e, order: order}
	s := e.Spec
	if len(s.Methods) > 0 {
		en.methods = map[string]bool{}
		for _, m := range s.Methods {
			if m == "" || strings.ToUpper(m) != m {
				return nil, fmt.Errorf("method %q is not an upper-case method name", m)
			}
			en.methods[m] = true
		}
	}
	for _, h := range s.Hosts {
		h = strings.ToLower(h)
		switch {
		case strings.HasPrefix(h, "*."):
			en.hostSuffix = append(en.hostSuffix, h[1:])
		case h == "" || strings.ContainsAny(h, "*/ "):
			return nil, fmt.Errorf("host %q is not a host name or *.domain", h)
		default:
			if en.hostExact == nil {
				en.hostExact = map[string]bool{}
			}
			en.hostExact[h] = true
		}
	}
	for k := range s.Headers {
		if k == "" || http.CanonicalHeaderKey(k) == "" {
			return nil, fmt.Errorf("header name %q is empty", k)
		}
	}
	en.conds = len(s.Methods) + len(s.Hosts) + len(s.Headers) + len(s.Query)
	if s.Kind == Regex {
		re, err := regexp.Compile(`^(?:` + s.Pattern + `)$`)
		if err != nil {
			return nil, fmt.Errorf("regex %q: %v", s.Pattern, err)
		}
		en.re = re
		return en, nil
	}
	if !strings.HasPrefix(s.Pattern, "/") {
		return nil, fmt.Errorf("%s pattern %q must start with /", s.Kind, s.Pattern)
	}
	return en, nil
}

// segments splits a normalised path, keeping a trailing slash as a final
// empty segment so /a/ and /a differ.
func segments(p string) []string {
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

func (t *Table[T]) insert(en *entry[T]) error {
	s := en.Spec
	if s.Kind == Regex {
		for _, o := range t.regexes {
			if o.Spec.Pattern == s.Pattern && indistinct(o, en) {
				return conflict(o, en)
			}
		}
		t.regexes = append(t.regexes, en)
		return nil
	}

	pattern := s.Pattern
	if s.Kind == Prefix {
		pattern = strings.TrimRight(pattern, "/")
		if pattern == "" {
			pattern = "/"
		}
	}
	segs := segments(pattern)
	n := t.root
	for i, seg := range segs {
		if s.Kind == Template {
			switch {
			case seg == "**":
				if i != len(segs)-1 {
					return fmt.Errorf("route %q: ** must be the last segment of %q", en.Name, s.Pattern)
				}
				for _, o := range n.tails {
					if indistinct(o, en) {
						return conflict(o, en)
					}
				}
				n.tails = append(n.tails, en)
				return nil
			case seg == "*" || (strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")):
				name := seg
				if seg != "*" {
					name = seg[1 : len(seg)-1]
					if name == "" || strings.ContainsAny(name, "{}*/") {
						return fmt.Errorf("route %q: bad parameter %q in %q", en.Name, seg, s.Pattern)
					}
				}
				en.paramNames = append(en.paramNames, name)
				if n.param == nil {
					n.param = &node[T]{}
				}
				n = n.param
				continue
			case strings.ContainsAny(seg, "{}*"):
				return fmt.Errorf("route %q: segment %q of %q mixes a literal with a parameter or wildcard", en.Name, seg, s.Pattern)
			}
		}
		if n.lits == nil {
			n.lits = map[string]*node[T]{}
		}
		c := n.lits[seg]
		if c == nil {
			c = &node[T]{}
			n.lits[seg] = c
		}
		n = c
	}
	list := &n.ends
	if s.Kind == Prefix {
		list = &n.prefix
	}
	for _, o := range *list {
		if indistinct(o, en) {
			return conflict(o, en)
		}
	}
	*list = append(*list, en)
	return nil
}

func conflict[T any](a, b *entry[T]) error {
	return fmt.Errorf("routes %q and %q can never be told apart (same %s pattern %q, same conditions and priority); give one a priority, a method, host, header or query condition, or remove it",
		a.Name, b.Name, b.Spec.Kind, b.Spec.Pattern)
}

// indistinct reports whether no request could choose between a and b at the
// same pattern position.
func indistinct[T any](a, b *entry[T]) bool {
	if a.Spec.Priority != b.Spec.Priority || !sameSet(a.Spec.Hosts, b.Spec.Hosts) ||
		!sameMap(a.Spec.Headers, b.Spec.Headers) || !sameMap(a.Spec.Query, b.Spec.Query) {
		return false
	}
	if a.methods == nil || b.methods == nil {
		return true
	}
	for m := range a.methods {
		if b.methods[m] {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[strings.ToLower(x)] = true
	}
	for _, x := range b {
		if !m[strings.ToLower(x)] {
			return false
		}
	}
	return true
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (t *Table[T]) sortAll(n *node[T]) {
	for _, l := range [][]*entry[T]{n.ends, n.tails, n.prefix} {
		sort.SliceStable(l, func(i, j int) bool {
			if l[i].conds != l[j].conds {
				return l[i].conds > l[j].conds
			}
			return l[i].order < l[j].order
		})
	}
	for _, c := range n.lits {
		t.sortAll(c)
	}
	if n.param != nil {
		t.sortAll(n.param)
	}
}

// Request is what matching reads of a request.
type Request struct {
	Method string
	// Host is the request's host, lower case, without port.
	Host string
	// Path is the normalised path (see Normalize).
	Path   string
	Header http.Header
	// RawQuery is the request's query string, parsed only if a route has
	// query conditions.
	RawQuery string
}

// Match is a lookup's result.
type Match[T any] struct {
	Name   string
	Value  T
	Params Params
}

// Lookup finds the route for req. When no route matches but some matched on
// everything except the method, allowed lists their methods (for 405).
func (t *Table[T]) Lookup(req *Request) (m Match[T], ok bool, allowed []string) {
	l := lookup[T]{t: t, req: req, segs: segments(req.Path), collectAll: t.hasPriority}
	l.walk(t.root, 0)
	if !l.done {
		l.prefixes()
	}
	if !l.done {
		l.regexSearch()
	}
	if l.best == nil {
		return m, false, l.allowed
	}
	return Match[T]{Name: l.best.Name, Value: l.best.Value, Params: l.bestParams}, true, nil
}

type lookup[T any] struct {
	t          *Table[T]
	req        *Request
	segs       []string
	captured   []string
	collectAll bool

	best       *entry[T]
	bestParams Params
	done       bool
	allowed    []string
	query      url.Values // parsed on first need
}

// offer considers a candidate whose path matched; with no priorities in
// the table the first acceptable candidate ends the search.
func (l *lookup[T]) offer(e *entry[T], params func() Params) {
	if !l.accept(e) {
		return
	}
	if l.best == nil || e.Spec.Priority > l.best.Spec.Priority {
		l.best, l.bestParams = e, params()
	}
	if !l.collectAll {
		l.done = true
	}
}

func (l *lookup[T]) accept(e *entry[T]) bool {
	r := l.req
	if e.hostExact != nil || e.hostSuffix != nil {
		ok := e.hostExact[r.Host]
		for _, s := range e.hostSuffix {
			if strings.HasSuffix(r.Host, s) && len(r.Host) > len(s) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	for k, v := range e.Spec.Headers {
		got := r.Header.Values(k)
		if len(got) == 0 || (v != "*" && !contains(got, v)) {
			return false
		}
	}
	if len(e.Spec.Query) > 0 && l.query == nil {
		l.query, _ = url.ParseQuery(r.RawQuery)
	}
	for k, v := range e.Spec.Query {
		got := l.query[k]
		if len(got) == 0 || (v != "*" && !contains(got, v)) {
			return false
		}
	}
	if e.methods != nil && !e.methods[r.Method] {
		for m := range e.methods {
			if !contains(l.allowed, m) {
				l.allowed = append(l.allowed, m)
			}
		}
		sort.Strings(l.allowed)
		return false
	}
	return true
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (l *lookup[T]) params(e *entry[T], tail string, withTail bool) func() Params {
	return func() Params {
		if len(e.paramNames) == 0 && !withTail {
			return nil
		}
		ps := make(Params, 0, len(e.paramNames)+1)
		for i, name := range e.paramNames {
			ps = append(ps, Param{name, l.captured[i]})
		}
		if withTail {
			ps = append(ps, Param{"**", tail})
		}
		return ps
	}
}

func (l *lookup[T]) walk(n *node[T], i int) {
	if l.done {
		return
	}
	if i == len(l.segs) {
		for _, e := range n.ends {
			l.offer(e, l.params(e, "", false))
			if l.done {
				return
			}
		}
	} else {
		if c := n.lits[l.segs[i]]; c != nil {
			l.walk(c, i+1)
			if l.done {
				return
			}
		}
		if n.param != nil && l.segs[i] != "" {
			l.captured = append(l.captured, l.segs[i])
			l.walk(n.param, i+1)
			l.captured = l.captured[:len(l.captured)-1]
			if l.done {
				return
			}
		}
	}
	for _, e := range n.tails {
		tail := strings.Join(l.segs[i:], "/")
		l.offer(e, l.params(e, tail, true))
		if l.done {
			return
		}
	}
}

func (l *lookup[T]) prefixes() {
	// walk literal segments, remembering nodes with prefix routes
	var stack []*node[T]
	n := l.t.root
	if len(n.prefix) > 0 {
		stack = append(stack, n)
	}
	for _, s := range l.segs {
		if n = n.lits[s]; n == nil {
			break
		}
		if len(n.prefix) > 0 {
			stack = append(stack, n)
		}
	}
	for i := len(stack) - 1; i >= 0 && !l.done; i-- {
		for _, e := range stack[i].prefix {
			l.offer(e, func() Params { return nil })
			if l.done {
				return
			}
		}
	}
}

func (l *lookup[T]) regexSearch() {
	for _, e := range l.t.regexes {
		if l.done {
			return
		}
		if l.collectAll && l.best != nil && e.Spec.Priority <= l.best.Spec.Priority {
			continue
		}
		sub := e.re.FindStringSubmatch(l.req.Path)
		if sub == nil {
			continue
		}
		l.offer(e, func() Params {
			var ps Params
			for i, name := range e.re.SubexpNames() {
				if name != "" {
					ps = append(ps, Param{name, sub[i]})
				}
			}
			return ps
		})
	}
}
