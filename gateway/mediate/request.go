package mediate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/mediate/cache"
	"github.com/raygate/raygate/gateway/mediate/convert"
	"github.com/raygate/raygate/gateway/mediate/transform"
)

// exchangeState is what the request side leaves for the response side and
// the observer, in ex.Values["mediate"].
type exchangeState struct {
	p *policy
	// the cache's part
	key     string // primary key
	release func() // set when this request fetches key for everyone
	store   bool   // the response may be stored
	stale   *cache.Entry
	// revalidating: the gateway added the stale entry's validators
	revalidating bool
	// cond holds the client's conditionals when the gateway removed them
	// to fetch a full response to store
	cond http.Header
	// respFormat is the format an "accept" conversion chose
	respFormat convert.Format
}

const stateKey = "mediate"

func stateOf(ex *gateway.Exchange) *exchangeState {
	st, _ := ex.Values[stateKey].(*exchangeState)
	return st
}

// OnRequest implements gateway.RequestStage: parameter and body
// validation, conversion, transforms, then the cache lookup.
func (m *Mediate) OnRequest(w http.ResponseWriter, ex *gateway.Exchange) error {
	p, _ := ex.RouteData(m).(*policy)
	if p == nil {
		return nil
	}
	st := &exchangeState{p: p}
	if ex.Values == nil {
		ex.Values = map[string]any{}
	}
	ex.Values[stateKey] = st
	if err := m.mediateRequest(ex, p); err != nil {
		var ge *gateway.Error
		if errors.As(err, &ge) && ge.Status < 500 {
			p.requestsRefused.Add(1)
		}
		return err
	}
	if p.respConvert != nil && p.respConvert.to == "accept" {
		f, ok := convert.Negotiate(ex.Request.Header.Get("Accept"), p.respConvert.offered()...)
		if !ok {
			p.requestsRefused.Add(1)
			return &gateway.Error{Status: http.StatusNotAcceptable, Kind: "not-acceptable",
				Detail: "this route answers with " + formatList(p.respConvert.offered()) + "; the Accept header allows none of them"}
		}
		st.respFormat = f
	}
	if p.needsResponseBody() {
		// the response side reads the body: ask for it uncompressed
		ex.Request.Header.Del("Accept-Encoding")
	}
	if p.cache != nil {
		return m.lookup(w, ex, st)
	}
	return nil
}

func formatList(fs []convert.Format) string {
	s := ""
	for i, f := range fs {
		if i > 0 {
			s += ", "
		}
		s += f.String()
	}
	return s
}

// mediateRequest validates, converts and transforms the request.
func (m *Mediate) mediateRequest(ex *gateway.Exchange, p *policy) error {
	if p.paramsSchema != nil && len(ex.Params) > 0 {
		obj := map[string]any{}
		for _, kv := range ex.Params {
			obj[kv.Name] = kv.Value
		}
		if v := p.paramsSchema.validateValue(obj); len(v) > 0 {
			return violationsError("invalid-params", "the path parameters do not satisfy schema "+p.paramsSchema.name, v, "/params")
		}
	}
	if p.querySchema != nil {
		obj := map[string]any{}
		for k, vs := range ex.Request.URL.Query() {
			if len(vs) == 1 {
				obj[k] = vs[0]
			} else {
				arr := make([]any, len(vs))
				for i, v := range vs {
					arr[i] = v
				}
				obj[k] = arr
			}
		}
		if v := p.querySchema.validateValue(obj); len(v) > 0 {
			return violationsError("invalid-query", "the query parameters do not satisfy schema "+p.querySchema.name, v, "/query")
		}
	}
	if p.cfg.Request == nil {
		return nil
	}
	r := ex.Request
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	var body []byte
	bodyRead := false
	if p.needsRequestBody() && hasBody {
		if r.ContentLength > p.reqMax {
			return tooLarge(p.reqMax)
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, p.reqMax+1))
		r.Body.Close()
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return tooLarge(mb.Limit)
			}
			return &gateway.Error{Status: http.StatusBadRequest, Kind: "body-read", Detail: "the request body could not be read", Err: err}
		}
		if int64(len(b)) > p.reqMax {
			return tooLarge(p.reqMax)
		}
		body, bodyRead = b, true
	}
	ct := r.Header.Get("Content-Type")
	format := convert.FormatOf(ct)
	changed := false
	var out *http.Request
	switch {
	case p.reqConvert != nil || p.reqTransforms != nil:
		// headers and the URL may change: the inbound request keeps its own
		out = r.Clone(r.Context())
	case bodyRead:
		out = r.WithContext(r.Context()) // only the body is replaced
	default:
		out = r // validated in place: nothing to replace
	}

	if cv := p.reqConvert; cv != nil && bodyRead {
		to := formatNamed(cv.to)
		if format != convert.Binary && format != to {
			nb, err := cv.run(body, format, to, ct, p.reqMax*4)
			if err != nil {
				return &gateway.Error{Status: http.StatusBadRequest, Kind: "malformed-body", Detail: err.Error(), Err: err}
			}
			p.conversions.Add(1)
			body, changed, format = nb, true, to
			ct = convert.ContentType(to)
			out.Header.Set("Content-Type", ct)
		}
	}
	if s := p.reqSchema; s != nil {
		switch {
		case !bodyRead && bodyMethod(r.Method):
			return &gateway.Error{Status: http.StatusBadRequest, Kind: "invalid-body", Detail: "this route needs a JSON body satisfying schema " + s.name}
		case bodyRead && format != convert.JSON:
			return &gateway.Error{Status: http.StatusUnsupportedMediaType, Kind: "unsupported-media-type",
				Detail: fmt.Sprintf("this route takes JSON, not %s", orNone(r.Header.Get("Content-Type"))), Header: http.Header{"Accept-Post": {"application/json"}}}
		case bodyRead:
			v, err := s.validate(body)
			if err != nil {
				return &gateway.Error{Status: http.StatusBadRequest, Kind: "malformed-body", Detail: "the body is not valid JSON: " + err.Error(), Err: err}
			}
			if len(v) > 0 {
				return violationsError("invalid-body", "the body does not satisfy schema "+s.name, v, "")
			}
		}
	}
	if l := p.reqTransforms; l != nil {
		env := envOf(ex)
		msg := &transform.Message{Header: out.Header, URL: out.URL, Body: body, JSON: format == convert.JSON}
		skipped, err := l.Apply(msg, env)
		p.transformSkips.Add(uint64(skipped))
		if err != nil {
			return &gateway.Error{Status: http.StatusBadRequest, Kind: "transform-failed", Detail: err.Error(), Err: err}
		}
		if msg.BodyChanged {
			body, changed = msg.Body, true
		}
	}
	if bodyRead {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		out.TransferEncoding = nil
		out.Header.Del("Transfer-Encoding")
		if changed || out.Header.Get("Content-Length") != "" {
			out.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
		b := body
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	ex.Request = out
	return nil
}

func orNone(ct string) string {
	if ct == "" {
		return "a body without Content-Type"
	}
	return ct
}

func bodyMethod(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

func tooLarge(max int64) error {
	return &gateway.Error{Status: http.StatusRequestEntityTooLarge, Kind: "body-too-large",
		Detail: fmt.Sprintf("this route reads bodies of at most %d bytes", max)}
}

// violationsError is a 400 listing each violation (pointer and message);
// prefix roots the pointers ("/query" for query parameters).
func violationsError(kind, detail string, vs []Violation, prefix string) error {
	list := make([]map[string]string, len(vs))
	for i, v := range vs {
		list[i] = map[string]string{"pointer": prefix + v.Pointer, "message": v.Message}
	}
	return &gateway.Error{Status: http.StatusBadRequest, Kind: kind,
		Detail:     fmt.Sprintf("%s (%d violation%s)", detail, len(vs), plural(len(vs))),
		Extensions: map[string]any{"violations": list}}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func envOf(ex *gateway.Exchange) *transform.Env {
	env := &transform.Env{
		Params:    ex.Params.Get,
		Query:     ex.Request.URL.Query(),
		Header:    ex.Request.Header,
		Route:     ex.Route,
		RequestID: ex.ID,
		Method:    ex.Request.Method,
		Path:      ex.Path,
	}
	if id := ex.Identity; id != nil {
		env.Subject, env.Role = id.Subject, id.Role
	}
	return env
}

// lookup answers from the cache when it can. Otherwise the request goes
// on, either as the one request fetching the key (the leader) or after
// waiting for the leader.
func (m *Mediate) lookup(w http.ResponseWriter, ex *gateway.Exchange, st *exchangeState) error {
	cp, r := st.p.cache, ex.Request
	if !cp.takes(r.Method) {
		return nil
	}
	if cache.ParseCacheControl(r.Header).NoStore {
		m.store.Count(ex.Route, "bypass")
		return nil
	}
	variant := ""
	if st.respFormat != convert.Binary && st.p.respConvert != nil && st.p.respConvert.to == "accept" {
		variant = st.respFormat.String()
	}
	st.key = cp.primaryKey(ex, variant)
	e := m.find(st.key, r.Header)
	now := m.now()
	if e != nil && e.IsFresh(now) {
		m.store.Count(ex.Route, "hit")
		return m.serve(w, ex, e, "hit")
	}
	if r.Method == http.MethodHead {
		// a HEAD answer has no body to store: it goes on, uncached
		m.store.Count(ex.Route, "miss")
		return nil
	}
	leader, wait, release := m.store.Lock(st.key)
	if !leader {
		if e != nil && e.IsUsableStale(now) {
			m.store.Count(ex.Route, "stale")
			return m.serve(w, ex, e, "stale")
		}
		t := time.NewTimer(cp.lockTimeout)
		defer t.Stop()
		select {
		case <-wait:
		case <-t.C:
		case <-r.Context().Done():
			return r.Context().Err()
		}
		if e := m.find(st.key, r.Header); e != nil && e.IsFresh(m.now()) {
			m.store.Count(ex.Route, "collapsed")
			return m.serve(w, ex, e, "hit")
		}
		// the leader's answer was not storable (or is late): go too,
		// without storing, so that one slow upstream does not queue
		// everyone behind a chain of leaders
		m.store.Count(ex.Route, "miss")
		return nil
	}
	m.store.Count(ex.Route, "miss")
	st.release, st.store, st.stale = release, true, e
	h := ex.Request.Header
	if h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" {
		// fetch the whole response to store it; the client's
		// conditionals are answered from the stored entry afterwards
		st.cond = http.Header{}
		for _, k := range []string{"If-None-Match", "If-Modified-Since"} {
			if v := h.Values(k); len(v) > 0 {
				st.cond[k] = v
			}
		}
		h.Del("If-None-Match")
		h.Del("If-Modified-Since")
	}
	if e != nil {
		// revalidate the stale entry instead of fetching it again
		if etag := e.Header.Get("ETag"); etag != "" {
			h.Set("If-None-Match", etag)
			st.revalidating = true
		} else if lm := e.Header.Get("Last-Modified"); lm != "" {
			h.Set("If-Modified-Since", lm)
			st.revalidating = true
		}
	}
	return nil
}

// find returns the entry for a request, following a Vary marker.
func (m *Mediate) find(primary string, h http.Header) *cache.Entry {
	e, ok := m.store.Get(primary)
	if !ok {
		return nil
	}
	if e.IsMarker() {
		if e, ok = m.store.Get(variantKey(primary, e.Vary, h)); !ok {
			return nil
		}
	}
	return e
}

// serve answers from an entry: 304 when the client's conditionals match,
// no body for HEAD, with Age and Cache-Status (RFC 9211).
func (m *Mediate) serve(w http.ResponseWriter, ex *gateway.Exchange, e *cache.Entry, how string) error {
	h := w.Header()
	age := e.Age(m.now())
	status := "raygate; hit"
	if how == "stale" {
		status = "raygate; hit; fwd=stale"
	}
	if cache.NotModified(ex.Request.Header, e) {
		for _, k := range cache.NotModifiedHeaders {
			if v := e.Header.Values(k); len(v) > 0 {
				h[k] = v
			}
		}
		h.Set("Age", strconv.Itoa(int(age/time.Second)))
		h.Set("Cache-Status", status)
		m.store.Count(ex.Route, "not-modified")
		w.WriteHeader(http.StatusNotModified)
		return gateway.ErrHandled
	}
	for k, v := range e.Header {
		h[k] = v
	}
	h.Set("Age", strconv.Itoa(int(age/time.Second)))
	h.Set("Cache-Status", status)
	h.Set("Content-Length", strconv.Itoa(len(e.Body)))
	w.WriteHeader(e.Status)
	if ex.Request.Method != http.MethodHead {
		w.Write(e.Body)
	}
	return gateway.ErrHandled
}
