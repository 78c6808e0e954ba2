package mediate

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/mediate/cache"
	"github.com/raygate/raygate/gateway/mediate/convert"
	"github.com/raygate/raygate/gateway/mediate/transform"
	"github.com/raygate/raygate/gateway/problem"
)

// OnResponse implements gateway.ResponseStage: response validation,
// transforms and conversion, then the cache store. The cache holds the
// response as the client gets it, so a hit costs a lookup and a write.
func (m *Mediate) OnResponse(ex *gateway.Exchange, resp *http.Response) error {
	st := stateOf(ex)
	if st == nil {
		return nil
	}
	p := st.p
	if st.revalidating && resp.StatusCode == http.StatusNotModified {
		return m.revalidated(ex, st, resp)
	}
	if st.stale != nil && st.release != nil && resp.StatusCode >= 500 {
		// the upstream failed while a stale entry waits: the stale entry
		// is the better answer (RFC 5861 stale-if-error, within the
		// stale window)
		if st.stale.IsUsableStale(m.now()) {
			resp.Body.Close()
			m.store.Count(ex.Route, "stale")
			m.replace(resp, st.stale, "raygate; hit; fwd=stale; detail=upstream-error")
			return nil
		}
	}

	mediating := p.needsResponseBody()
	var storeMax int64
	if st.store && p.cache != nil && p.cache.takes(ex.Request.Method) {
		storeMax = m.store.Limits().MaxEntryBytes
	}
	if !mediating && storeMax == 0 {
		return nil
	}
	max := storeMax
	if mediating {
		max = p.respMax
	}
	body, complete, err := readBounded(resp, max)
	if err != nil {
		return &gateway.Error{Status: http.StatusBadGateway, Kind: "bad-gateway", Detail: "the upstream's response body could not be read", Err: err}
	}
	if !complete {
		if mediating {
			p.responsesRefused.Add(1)
			return &gateway.Error{Status: http.StatusBadGateway, Kind: "response-too-large",
				Detail: fmt.Sprintf("the upstream's response exceeds the %d bytes this route mediates", max)}
		}
		// too large to store: stream it on, the read part first
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return nil
	}
	resp.Body.Close()
	if mediating {
		if body, err = m.mediateResponse(ex, st, resp, body); err != nil {
			p.responsesRefused.Add(1)
			return err
		}
	}
	setBody(resp, body)
	if storeMax > 0 && int64(len(body)) <= storeMax {
		m.storeResponse(ex, st, resp, body)
	}
	return nil
}

// readBounded reads at most max bytes; complete is false when there was
// more.
func readBounded(resp *http.Response, max int64) (body []byte, complete bool, err error) {
	if resp.ContentLength > max {
		return nil, false, nil
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > max {
		return body, false, nil
	}
	return body, true, nil
}

func setBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	resp.Header.Del("Transfer-Encoding")
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// mediateResponse validates, transforms and converts a response body.
func (m *Mediate) mediateResponse(ex *gateway.Exchange, st *exchangeState, resp *http.Response, body []byte) ([]byte, error) {
	p := st.p
	ct := resp.Header.Get("Content-Type")
	format := convert.FormatOf(ct)
	encoded := resp.Header.Get("Content-Encoding") != "" && !strings.EqualFold(resp.Header.Get("Content-Encoding"), "identity")
	if encoded {
		// asked for identity (OnRequest dropped Accept-Encoding); an
		// upstream that compresses anyway gets its body passed on as is
		format = convert.Binary
	}
	if s := p.respSchema; s != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 && len(body) > 0 {
		if format != convert.JSON {
			return nil, &gateway.Error{Status: http.StatusBadGateway, Kind: "invalid-response",
				Detail: fmt.Sprintf("the upstream answered %s where schema %s expects JSON", orNone(ct), s.name)}
		}
		v, err := s.validate(body)
		if err != nil || len(v) > 0 {
			// the violations describe the upstream's data: they go to the
			// log, not to the client
			m.Log("mediate: route %s: response fails schema %s: %s", ex.Route, s.name, describe(v, err))
			return nil, &gateway.Error{Status: http.StatusBadGateway, Kind: "invalid-response",
				Detail: fmt.Sprintf("the upstream's response does not satisfy schema %s", s.name), Err: err}
		}
	}
	if l := p.respTransforms; l != nil {
		msg := &transform.Message{Header: resp.Header, Status: resp.StatusCode, Body: body, JSON: format == convert.JSON}
		skipped, err := l.Apply(msg, envOf(ex))
		p.transformSkips.Add(uint64(skipped))
		if err != nil {
			return nil, &gateway.Error{Status: http.StatusBadGateway, Kind: "transform-failed", Detail: err.Error(), Err: err}
		}
		if msg.BodyChanged {
			body = msg.Body
		}
		if msg.Status != resp.StatusCode {
			resp.StatusCode, resp.Status = msg.Status, strconv.Itoa(msg.Status)+" "+http.StatusText(msg.Status)
		}
	}
	if cv := p.respConvert; cv != nil && len(body) > 0 && format != convert.Binary {
		to := formatNamed(cv.to)
		if cv.to == "accept" {
			to = st.respFormat
			resp.Header.Add("Vary", "Accept")
		}
		if to != format {
			nb, err := cv.run(body, format, to, ct, p.respMax*4)
			if err != nil {
				return nil, &gateway.Error{Status: http.StatusBadGateway, Kind: "malformed-response",
					Detail: "the upstream's response could not be converted: " + err.Error(), Err: err}
			}
			p.conversions.Add(1)
			body = nb
			resp.Header.Set("Content-Type", convert.ContentType(to))
			// validators describe the representation the upstream sent
			resp.Header.Del("ETag")
			resp.Header.Del("Content-MD5")
		}
	}
	return body, nil
}

func describe(v []Violation, err error) string {
	if err != nil {
		return err.Error()
	}
	parts := make([]string, 0, len(v))
	for _, x := range v {
		parts = append(parts, x.Pointer+": "+x.Message)
	}
	return strings.Join(parts, "; ")
}

// storeResponse stores a response the client is about to get, then lets
// the requests waiting for it go, and answers the client's own
// conditionals from it.
func (m *Mediate) storeResponse(ex *gateway.Exchange, st *exchangeState, resp *http.Response, body []byte) {
	defer func() {
		if st.release != nil {
			st.release()
		}
	}()
	cp := st.p.cache
	fresh, why := cp.storable(resp, ex.Identity != nil)
	if why != "" {
		resp.Header.Set("Cache-Status", "raygate; fwd=uri-miss; detail="+why)
		return
	}
	now := m.now()
	e := &cache.Entry{
		Route:      ex.Route,
		Status:     resp.StatusCode,
		Header:     storedHeader(resp.Header),
		Body:       body,
		Stored:     now,
		AgeAtStore: cache.AgeHeader(resp.Header),
		Fresh:      fresh,
		Stale:      cp.staleWindow(resp.Header),
	}
	key := st.key
	vary, _ := varyNames(resp.Header)
	if st.respFormat != convert.Binary {
		// the negotiated format is part of the key already
		vary = slices.DeleteFunc(vary, func(n string) bool { return n == "Accept" })
	}
	if len(vary) > 0 {
		m.store.Put(key, &cache.Entry{Route: ex.Route, Vary: vary, Stored: now, Fresh: fresh, Stale: e.Stale})
		key = variantKey(key, vary, ex.Request.Header)
	}
	if !m.store.Put(key, e) {
		resp.Header.Set("Cache-Status", "raygate; fwd=uri-miss; detail=too-large")
		return
	}
	resp.Header.Set("Cache-Status", "raygate; fwd=uri-miss; stored")
	if st.cond != nil && cache.NotModified(st.cond, e) {
		m.notModified(resp, e)
	}
}

// storedHeader copies the headers worth keeping, each slice clipped so
// that a later append on a served copy cannot write into the entry.
func storedHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		switch k {
		case "Cache-Status", "Age", "Connection", "Keep-Alive", "Transfer-Encoding", "X-Request-Id":
			continue
		}
		c := append([]string(nil), v...)
		out[k] = c[:len(c):len(c)]
	}
	return out
}

// revalidated handles the upstream's 304 to the gateway's own
// conditional request: the stale entry is fresh again, with the 304's
// headers, and the client gets it (or its own 304).
func (m *Mediate) revalidated(ex *gateway.Exchange, st *exchangeState, resp *http.Response) error {
	defer st.release()
	resp.Body.Close()
	old := st.stale
	h := storedHeader(old.Header)
	for _, k := range cache.NotModifiedHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	fresh, why := st.p.cache.storable(&http.Response{StatusCode: old.Status, Header: h}, ex.Identity != nil)
	e := &cache.Entry{Route: ex.Route, Status: old.Status, Header: h, Body: old.Body, Stored: m.now(),
		AgeAtStore: cache.AgeHeader(resp.Header), Fresh: fresh, Stale: st.p.cache.staleWindow(h)}
	if why == "" {
		key := st.key
		if vary, _ := varyNames(h); len(vary) > 0 {
			key = variantKey(key, vary, ex.Request.Header)
		}
		m.store.Put(key, e)
		m.store.Count(ex.Route, "revalidated")
	}
	m.replace(resp, e, "raygate; fwd=stale; fwd-status=304")
	if st.cond != nil && cache.NotModified(st.cond, e) {
		m.notModified(resp, e)
	}
	return nil
}

// replace turns resp into the entry's response.
func (m *Mediate) replace(resp *http.Response, e *cache.Entry, status string) {
	resp.StatusCode, resp.Status = e.Status, strconv.Itoa(e.Status)+" "+http.StatusText(e.Status)
	resp.Header = storedHeader(e.Header)
	resp.Header.Set("Age", strconv.Itoa(int(e.Age(m.now()).Seconds())))
	resp.Header.Set("Cache-Status", status)
	setBody(resp, e.Body)
}

// notModified turns resp into a 304 for the client.
func (m *Mediate) notModified(resp *http.Response, e *cache.Entry) {
	h := http.Header{}
	for _, k := range append(cache.NotModifiedHeaders, "Cache-Status", "Age") {
		if v := resp.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	resp.StatusCode, resp.Status = http.StatusNotModified, "304 Not Modified"
	resp.Header = h
	resp.Body = http.NoBody
	resp.ContentLength = 0
	m.store.Count(e.Route, "not-modified")
}

// Observe implements gateway.Observer: whatever happened to the exchange,
// a cache fetch it led is let go.
func (m *Mediate) Observe(ex *gateway.Exchange) {
	if st := stateOf(ex); st != nil && st.release != nil {
		st.release()
	}
}

// WriteError implements gateway.ErrorWriter: a route's error template.
func (m *Mediate) WriteError(w http.ResponseWriter, ex *gateway.Exchange, d problem.Details, ext map[string]any) bool {
	p, _ := ex.RouteData(m).(*policy)
	if p == nil || p.errs == nil {
		return false
	}
	ct := p.cfg.Errors.ContentType
	escape := func(s string) string { return s }
	switch convert.FormatOf(ct) {
	case convert.JSON:
		escape = func(s string) string {
			b, _ := json.Marshal(s)
			return string(b[1 : len(b)-1])
		}
	case convert.XML:
		escape = func(s string) string {
			var b strings.Builder
			xml.EscapeText(&b, []byte(s))
			return b.String()
		}
	}
	var b bytes.Buffer
	for _, part := range p.errs {
		switch part.Field {
		case "":
			b.WriteString(part.Text)
		case "type":
			b.WriteString(escape(d.Type))
		case "title":
			b.WriteString(escape(d.Title))
		case "status":
			b.WriteString(strconv.Itoa(d.Status))
		case "detail":
			b.WriteString(escape(d.Detail))
		case "request_id":
			b.WriteString(escape(d.RequestID))
		case "kind":
			b.WriteString(escape(d.Kind()))
		}
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Encoding")
	w.WriteHeader(d.Status)
	w.Write(b.Bytes())
	return true
}
