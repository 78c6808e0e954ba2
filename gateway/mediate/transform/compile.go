package transform

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/raygate/raygate/gateway/config"
)

// List is a compiled transform list: immutable, safe for concurrent use.
type List struct {
	steps     []step
	needsBody bool
	// protectEnvHeader: a step reads {header.X} after a step wrote
	// headers, so Apply must read the Env's headers as they were if the
	// caller passed the message's own header map as the Env's.
	protectEnvHeader bool
}

type opKind uint8

const (
	opHeaderAdd opKind = iota
	opHeaderSet
	opHeaderRemove
	opHeaderRename
	opQueryAdd
	opQuerySet
	opQueryRemove
	opQueryRename
	opPathRewrite
	opBodyAdd
	opBodySet
	opBodyRemove
	opBodyRename
	opBodyMove
	opStatusSet
)

var ops = map[string]opKind{
	"header.add": opHeaderAdd, "header.set": opHeaderSet, "header.remove": opHeaderRemove, "header.rename": opHeaderRename,
	"query.add": opQueryAdd, "query.set": opQuerySet, "query.remove": opQueryRemove, "query.rename": opQueryRename,
	"path.rewrite": opPathRewrite,
	"body.add":     opBodyAdd, "body.set": opBodySet, "body.remove": opBodyRemove, "body.rename": opBodyRename, "body.move": opBodyMove,
	"status.set": opStatusSet,
}

// step is one compiled transform.
type step struct {
	op    opKind
	fail  bool
	label string // "body.remove /customer/ssn": StepError.Op
	desc  string // the Describe line, without number and on_error

	name, to       string // header (canonical) or query names; the body.rename key
	escName, escTo string // query names, escaped once
	value          template
	ptr, toPtr     pointer
	vtype          valueType
	constVal       *jvalue // a body value with no placeholder, parsed once (cloned per use)
	status, when   int
}

func (st *step) kind() string {
	switch {
	case st.op <= opHeaderRename:
		return "header"
	case st.op <= opQueryRename:
		return "query"
	case st.op == opPathRewrite:
		return "path"
	case st.op <= opBodyMove:
		return "body"
	}
	return "status"
}

// Compile compiles ts (already validated by config; Compile checks again
// rather than trusting it, and checks what only compiling can see: a
// constant value that could never apply, a path template that could never
// be clean). response says which side the list is for. OnError "" is skip
// and Type "" is string, as config's defaults.
func Compile(ts []config.Transform, response bool) (*List, error) {
	l := &List{steps: make([]step, 0, len(ts))}
	wroteHeaders := false
	for i, t := range ts {
		st, err := compileStep(t, response)
		if err != nil {
			return nil, fmt.Errorf("transform %d (%s): %w", i+1, t.Op, err)
		}
		if st.kind() == "body" {
			l.needsBody = true
		}
		if wroteHeaders && st.value.reads(srcHeader) {
			l.protectEnvHeader = true
		}
		if st.kind() == "header" {
			wroteHeaders = true
		}
		l.steps = append(l.steps, st)
	}
	return l, nil
}

func compileStep(t config.Transform, response bool) (step, error) {
	op, ok := ops[t.Op]
	if !ok {
		return step{}, fmt.Errorf("unknown operation")
	}
	st := step{op: op}
	switch t.OnError {
	case "", "skip":
	case "fail":
		st.fail = true
	default:
		return step{}, fmt.Errorf("on_error %q is not skip or fail", t.OnError)
	}
	kind := st.kind()
	verb := t.Op[strings.IndexByte(t.Op, '.')+1:]
	switch {
	case response && (kind == "query" || kind == "path"):
		return step{}, fmt.Errorf("changes the request: not on responses")
	case !response && kind == "status":
		return step{}, fmt.Errorf("changes the response: not on requests")
	}

	// which fields the operation takes, as config.validTransforms
	needName := kind != "path" && kind != "status"
	needTo := verb == "rename" || verb == "move"
	takesValue := verb == "add" || verb == "set" || verb == "rewrite"
	switch {
	case needName && t.Name == "":
		return step{}, fmt.Errorf("name is required")
	case !needName && t.Name != "":
		return step{}, fmt.Errorf("takes no name")
	case needTo && t.To == "":
		return step{}, fmt.Errorf("to is required")
	case !needTo && t.To != "":
		return step{}, fmt.Errorf("takes no to")
	case !takesValue && t.Value != "":
		return step{}, fmt.Errorf("takes no value")
	case kind != "status" && (t.Status != 0 || t.When != 0):
		return step{}, fmt.Errorf("status and when belong to status.set")
	}
	var err error
	if st.value, err = parseTemplate(t.Value); err != nil {
		return step{}, fmt.Errorf("value: %w", err)
	}

	switch kind {
	case "header":
		err = st.compileHeader(t)
	case "query":
		st.name, st.to = t.Name, t.To
		st.escName, st.escTo = url.QueryEscape(t.Name), url.QueryEscape(t.To)
		if needTo && t.Name == t.To {
			err = fmt.Errorf("renames %s to itself", t.Name)
		}
	case "path":
		if !strings.HasPrefix(t.Value, "/") {
			err = fmt.Errorf("value: a path template starts with /")
		} else if err = checkPathTemplate(&st.value); err != nil {
			err = fmt.Errorf("value: %w", err)
		}
	case "body":
		err = st.compileBody(t, verb)
	case "status":
		switch {
		case t.Status < 100 || t.Status > 599:
			err = fmt.Errorf("status %d is not an HTTP status", t.Status)
		case t.When != 0 && (t.When < 100 || t.When > 599):
			err = fmt.Errorf("when %d is not an HTTP status", t.When)
		}
		st.status, st.when = t.Status, t.When
	}
	if err != nil {
		return step{}, err
	}
	st.describe(t)
	return st, nil
}

func (st *step) compileHeader(t config.Transform) error {
	for _, n := range []string{t.Name, t.To} {
		if n == "" {
			continue
		}
		if !validHeaderName(n) {
			return fmt.Errorf("%q is not a header name (an HTTP token)", n)
		}
		if isFraming(n) {
			return fmt.Errorf("%s is framing, not a header a transform may touch", n)
		}
	}
	st.name = http.CanonicalHeaderKey(t.Name)
	if t.To != "" {
		st.to = http.CanonicalHeaderKey(t.To)
		if st.to == st.name {
			return fmt.Errorf("renames %s to itself", t.Name)
		}
	}
	if c, ok := st.value.constant(); ok && !controlFree(c) {
		return fmt.Errorf("value contains a control character")
	}
	return nil
}

func (st *step) compileBody(t config.Transform, verb string) error {
	var err error
	if st.ptr, err = parsePointer(t.Name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	switch verb {
	case "rename":
		// To is the new key, one reference token: "~1" and "~0" are read
		// as in a pointer, so a key holding "/" can be written
		if strings.Contains(t.To, "/") {
			return fmt.Errorf("to: rename takes the new key only; use body.move to move a field")
		}
		if err := checkTildes(t.To); err != nil {
			return fmt.Errorf("to: %v", err)
		}
		st.to = unescapeToken.Replace(t.To)
		if st.to == last(st.ptr) {
			return fmt.Errorf("renames %s to itself", t.Name)
		}
	case "move":
		if st.toPtr, err = parsePointer(t.To); err != nil {
			return fmt.Errorf("to: %w", err)
		}
		switch {
		case st.toPtr.equal(st.ptr):
			return fmt.Errorf("moves %s to itself", t.Name)
		case st.ptr.within(st.toPtr):
			return fmt.Errorf("cannot move %s into itself (%s)", t.Name, t.To)
		}
	case "add", "set":
		vt, ok := valueTypes[t.Type]
		if !ok {
			return fmt.Errorf("type %q is not string, number, boolean or json", t.Type)
		}
		st.vtype = vt
		if c, ok := st.value.constant(); ok {
			v, why := bodyValue(vt, c)
			if why != "" {
				return fmt.Errorf("%s", why)
			}
			st.constVal = &v
		}
	}
	return nil
}

func (st *step) describe(t config.Transform) {
	st.label = t.Op
	if t.Name != "" {
		st.label += " " + t.Name
	}
	d := st.label
	switch t.Op {
	case "header.rename", "query.rename", "body.rename", "body.move":
		d += " -> " + t.To
	case "header.add", "header.set", "query.add", "query.set":
		d += " = " + strconv.Quote(t.Value)
	case "body.add", "body.set":
		d += " = " + strconv.Quote(t.Value)
		if st.vtype != typeString {
			d += " as " + st.vtype.String()
		}
	case "path.rewrite":
		d += " " + strconv.Quote(t.Value)
	case "status.set":
		d += " " + strconv.Itoa(t.Status)
		if t.When != 0 {
			d += " when " + strconv.Itoa(t.When)
		}
	}
	st.desc = d
}

// Len returns the number of steps.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.steps)
}

// NeedsBody reports whether a step touches the JSON body (the caller then
// reads the body, bounded, before Apply).
func (l *List) NeedsBody() bool { return l != nil && l.needsBody }

// Describe returns one line per step for the shell, e.g.
// `1. header.set X-Env = "prod" (on error: skip)`.
func (l *List) Describe() []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l.steps))
	for i := range l.steps {
		onError := "skip"
		if l.steps[i].fail {
			onError = "fail"
		}
		out[i] = fmt.Sprintf("%d. %s (on error: %s)", i+1, l.steps[i].desc, onError)
	}
	return out
}
