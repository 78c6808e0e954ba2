package transform

// Reasons a body step cannot apply.
const (
	whyNotFound     = "field not found"
	whyPresent      = "field already present"
	whyNotContainer = "parent is not an object or array"
	whyIndex        = "array index out of range"
	whyNotObject    = "parent is not an object"
)

// valueType is how a body step writes its expanded value.
type valueType uint8

const (
	typeString valueType = iota
	typeNumber
	typeBoolean
	typeJSON
)

var valueTypes = map[string]valueType{"": typeString, "string": typeString, "number": typeNumber, "boolean": typeBoolean, "json": typeJSON}

func (t valueType) String() string {
	return [...]string{"string", "number", "boolean", "json"}[t]
}

// bodyValue turns an expanded template into the JSON value a step writes.
func bodyValue(t valueType, s string) (jvalue, string) {
	switch t {
	case typeNumber:
		if !isJSONNumber(s) {
			return jvalue{}, "value is not a JSON number"
		}
		return jvalue{kind: jNumber, str: s}, ""
	case typeBoolean:
		switch s {
		case "true":
			return jvalue{kind: jTrue}, ""
		case "false":
			return jvalue{kind: jFalse}, ""
		}
		return jvalue{}, `value is not "true" or "false"`
	case typeJSON:
		v, err := parseJSON([]byte(s))
		if err != nil {
			return jvalue{}, "value " + err.Error()
		}
		return v, ""
	}
	return jvalue{kind: jString, str: s}, ""
}

// root returns the parsed body, parsing it on the first body step; a body
// that cannot be parsed is remembered, so each later step only reads the
// reason.
func (s *state) root() (*jvalue, string) {
	if !s.parsed {
		s.parsed = true
		switch {
		case !s.m.JSON:
			s.bodyWhy = "body is not JSON"
		case len(s.m.Body) == 0:
			s.bodyWhy = "no body"
		default:
			v, err := parseJSON(s.m.Body)
			if err != nil {
				s.bodyWhy = "body " + err.Error()
			} else {
				s.body = v
			}
		}
	}
	if s.bodyWhy != "" {
		return nil, s.bodyWhy
	}
	return &s.body, ""
}

// parent walks to the container holding p's last token. With create, a
// missing object member on the way is created as an empty object; this
// only ever happens after every existing node has been passed, so a walk
// that fails has changed nothing.
func parent(root *jvalue, p pointer, create bool) (*jvalue, string) {
	cur := root
	for _, tok := range p.tokens[:len(p.tokens)-1] {
		switch cur.kind {
		case jObject:
			i := cur.find(tok)
			if i < 0 {
				if !create {
					return nil, whyNotFound
				}
				cur.obj = append(cur.obj, jmember{key: tok, val: jvalue{kind: jObject}})
				i = len(cur.obj) - 1
			}
			cur = &cur.obj[i].val
		case jArray:
			// an intermediate array element is never created: "-" or an
			// index past the end would invent an element of unknown shape
			n, ok := arrayIndex(tok)
			if !ok || n >= len(cur.arr) {
				return nil, whyNotFound
			}
			cur = &cur.arr[n]
		default:
			return nil, whyNotFound
		}
	}
	if cur.kind != jObject && cur.kind != jArray {
		return nil, whyNotContainer
	}
	return cur, ""
}

func last(p pointer) string { return p.tokens[len(p.tokens)-1] }

// put writes v at p. replace false is body.add (refused when something is
// there), true is body.set and the second half of body.move.
func put(root *jvalue, p pointer, v jvalue, replace bool) string {
	par, why := parent(root, p, true)
	if why != "" {
		return why
	}
	tok := last(p)
	if par.kind == jObject {
		if i := par.find(tok); i >= 0 {
			if !replace {
				return whyPresent
			}
			par.obj[i].val = v // in place: the key keeps its position
			return ""
		}
		par.obj = append(par.obj, jmember{tok, v})
		return ""
	}
	n := len(par.arr)
	if tok != "-" {
		var ok bool
		if n, ok = arrayIndex(tok); !ok || n > len(par.arr) {
			return whyIndex
		}
	}
	if n < len(par.arr) {
		if !replace {
			return whyPresent
		}
		par.arr[n] = v
		return ""
	}
	par.arr = append(par.arr, v)
	return ""
}

// removed is what take took out, so that a move whose target cannot be
// written puts it back where it was.
type removed struct {
	par *jvalue
	pos int
	key string
	val jvalue
}

// take removes the value at p.
func take(root *jvalue, p pointer) (removed, string) {
	par, why := parent(root, p, false)
	if why != "" {
		return removed{}, why
	}
	tok := last(p)
	r := removed{par: par}
	if par.kind == jObject {
		i := par.find(tok)
		if i < 0 {
			return removed{}, whyNotFound
		}
		r.pos, r.key, r.val = i, tok, par.obj[i].val
		par.obj = append(par.obj[:i], par.obj[i+1:]...)
		return r, ""
	}
	i, ok := arrayIndex(tok)
	if !ok || i >= len(par.arr) {
		return removed{}, whyNotFound
	}
	r.pos, r.val = i, par.arr[i]
	par.arr = append(par.arr[:i], par.arr[i+1:]...)
	return r, ""
}

func (r *removed) undo() {
	if r.par.kind == jObject {
		r.par.obj = append(r.par.obj, jmember{})
		copy(r.par.obj[r.pos+1:], r.par.obj[r.pos:])
		r.par.obj[r.pos] = jmember{r.key, r.val}
		return
	}
	r.par.arr = append(r.par.arr, jvalue{})
	copy(r.par.arr[r.pos+1:], r.par.arr[r.pos:])
	r.par.arr[r.pos] = r.val
}

// rename gives the member at p the key to, in the same place among its
// siblings.
func rename(root *jvalue, p pointer, to string) string {
	par, why := parent(root, p, false)
	if why != "" {
		return why
	}
	if par.kind != jObject {
		return whyNotObject
	}
	i := par.find(last(p))
	if i < 0 {
		return whyNotFound
	}
	if par.find(to) >= 0 {
		return "field " + to + " already present"
	}
	par.obj[i].key = to
	return ""
}

// applyBody runs one body step.
func (st *step) applyBody(s *state) string {
	root, why := s.root()
	if why != "" {
		return why
	}
	switch st.op {
	case opBodyAdd, opBodySet:
		var v jvalue
		if st.constVal != nil {
			v = st.constVal.clone()
		} else {
			text, why := s.expand(&st.value, nil)
			if why != "" {
				return why
			}
			if v, why = bodyValue(st.vtype, text); why != "" {
				return why
			}
		}
		why = put(root, st.ptr, v, st.op == opBodySet)
	case opBodyRemove:
		_, why = take(root, st.ptr)
	case opBodyRename:
		why = rename(root, st.ptr, st.to)
	case opBodyMove:
		// RFC 6902 order: remove, then write at the target as it reads
		// after the removal
		var r removed
		if r, why = take(root, st.ptr); why == "" {
			if why = put(root, st.toPtr, r.val, true); why != "" {
				r.undo()
				why = "target: " + why
			}
		}
	}
	if why == "" {
		s.bodyChanged = true
	}
	return why
}
