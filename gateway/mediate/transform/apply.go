package transform

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
)

// Env is where template values come from. Apply reads it and never
// writes it.
type Env struct {
	Params        func(name string) string // route parameters ({param.id}); "" is absent
	Query         url.Values               // the client's query ({query.q}) - as received, before query transforms
	Header        http.Header              // the client's request headers ({header.X-User}) - as received
	Subject, Role string                   // {identity.subject}, {identity.role}
	// {route}, {request_id}, {method}, {path}; Path is the request's
	// (normalised, unescaped) path.
	Route, RequestID, Method, Path string
}

// Message is what a list changes.
type Message struct {
	Header http.Header
	URL    *url.URL // request side: path.rewrite sets Path (and clears RawPath); query ops edit RawQuery. nil on responses
	Status int      // response side: status.set
	// Body is the JSON body when NeedsBody (nil when there is none). JSON
	// says whether the message's Content-Type is JSON; body ops on a
	// non-JSON body cannot apply.
	Body []byte
	JSON bool
	// BodyChanged is set by Apply when Body was rewritten.
	BodyChanged bool
}

// StepError is a step that could not apply under on_error: fail.
type StepError struct {
	Index  int    // 1-based, as in Describe
	Op     string // the operation and what it names: "body.remove /customer/ssn"
	Reason string // why it could not apply: "field not found"
}

func (e *StepError) Error() string {
	return "transform " + strconv.Itoa(e.Index) + " (" + e.Op + "): " + e.Reason
}

// state is one Apply's working set.
type state struct {
	m         *Message
	env       *Env
	envHeader http.Header

	parsed      bool
	body        jvalue
	bodyWhy     string // why the body cannot be edited, once known
	bodyChanged bool
}

var errNoMessage = errors.New("transform: no message")

// Apply runs the steps in order. A step that cannot apply is skipped
// (on_error: skip; counted in skipped) or ends Apply with a *StepError
// (on_error: fail). After a failure the message is partly transformed and
// the body is left as it was: the caller answers with an error rather than
// forward it. The body is parsed on the first body step and encoded once,
// compactly, after the last, only if a step changed it.
func (l *List) Apply(m *Message, env *Env) (skipped int, err error) {
	if l.Len() == 0 {
		return 0, nil
	}
	if m == nil {
		return 0, errNoMessage
	}
	if env == nil {
		env = &Env{}
	}
	s := state{m: m, env: env, envHeader: env.Header}
	if l.protectEnvHeader && sameMap(env.Header, m.Header) {
		// the caller passed r.Header as both: {header.X} must still read
		// the headers as received, not as earlier steps left them (a
		// shallow copy will do, steps replace value slices rather than
		// write into them)
		s.envHeader = maps.Clone(env.Header)
	}
	for i := range l.steps {
		st := &l.steps[i]
		why := st.apply(&s)
		if why == "" {
			continue
		}
		if st.fail {
			return skipped, &StepError{Index: i + 1, Op: st.label, Reason: why}
		}
		skipped++
	}
	if s.bodyChanged {
		m.Body = appendJSON(make([]byte, 0, len(m.Body)+64), &s.body)
		m.BodyChanged = true
	}
	return skipped, nil
}

func sameMap(a, b http.Header) bool {
	return a != nil && b != nil && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// apply runs one step and returns why it could not apply, or "".
func (st *step) apply(s *state) string {
	switch st.kind() {
	case "header":
		return st.applyHeader(s)
	case "query":
		return st.applyQuery(s)
	case "path":
		return st.applyPath(s)
	case "body":
		return st.applyBody(s)
	}
	// status.set outside its When is not a failure: the step is a
	// condition that did not hold, so it is neither skipped nor failed
	if st.when == 0 || s.m.Status == st.when {
		s.m.Status = st.status
	}
	return ""
}
