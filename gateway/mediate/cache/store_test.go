package cache

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func entry(route string, n int) *Entry {
	return &Entry{Route: route, Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: make([]byte, n), Stored: time.Now(), Fresh: time.Minute}
}

func TestByteBoundEvictsOldestFirst(t *testing.T) {
	s := New(Limits{MaxBytes: 10_000, MaxEntries: 1000, MaxEntryBytes: 4000})
	for i := 0; i < 20; i++ {
		if !s.Put(fmt.Sprint("k", i), entry("r", 1000)) {
			t.Fatalf("put %d refused", i)
		}
		if st := s.Stats(); st.Bytes > 10_000 {
			t.Fatalf("after %d puts: %d bytes held, bound 10000", i+1, st.Bytes)
		}
	}
	st := s.Stats()
	if _, ok := s.Get("k0"); ok {
		t.Error("the oldest entry survived")
	}
	if _, ok := s.Get("k19"); !ok {
		t.Error("the newest entry is gone")
	}
	r := st.Routes["r"]
	if r.Entries != st.Entries || r.Bytes != st.Bytes || r.Stores != 20 || r.Evictions != uint64(20-st.Entries) {
		t.Errorf("counters disagree: %+v vs store %d entries %d bytes", r, st.Entries, st.Bytes)
	}
}

func TestEntryBoundAndRecency(t *testing.T) {
	s := New(Limits{MaxBytes: 1 << 20, MaxEntries: 3, MaxEntryBytes: 1 << 10})
	s.Put("a", entry("r", 10))
	s.Put("b", entry("r", 10))
	s.Put("c", entry("r", 10))
	s.Get("a") // a is now the most recent
	s.Put("d", entry("r", 10))
	if _, ok := s.Get("b"); ok {
		t.Error("b, the least recently used, survived")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := s.Get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	if ev := s.Stats().Routes["r"].Evictions; ev != 1 {
		t.Errorf("evictions = %d, want 1", ev)
	}
}

func TestOversizedAndReplaced(t *testing.T) {
	s := New(Limits{MaxBytes: 1 << 20, MaxEntries: 10, MaxEntryBytes: 100})
	if s.Put("big", entry("r", 101)) {
		t.Error("an entry over max_entry_bytes was stored")
	}
	s.Put("k", entry("r", 50))
	s.Put("k", entry("r", 60))
	st := s.Stats()
	if st.Entries != 1 || st.Routes["r"].Entries != 1 || st.Routes["r"].Evictions != 0 {
		t.Errorf("replacing counted wrong: %+v", st)
	}
	if e, _ := s.Get("k"); len(e.Body) != 60 {
		t.Error("replacement not kept")
	}
}

func TestFlushByRoute(t *testing.T) {
	s := New(Limits{MaxBytes: 1 << 20, MaxEntries: 100, MaxEntryBytes: 1 << 10})
	for i := 0; i < 5; i++ {
		s.Put(fmt.Sprint("a", i), entry("a", 10))
		s.Put(fmt.Sprint("b", i), entry("b", 10))
	}
	if n := s.Flush("a"); n != 5 {
		t.Errorf("flush a dropped %d", n)
	}
	st := s.Stats()
	if st.Routes["a"].Entries != 0 || st.Routes["b"].Entries != 5 || st.Routes["a"].Evictions != 0 {
		t.Errorf("after flush: %+v", st.Routes)
	}
	if n := s.Flush(""); n != 5 || s.Stats().Bytes != 0 {
		t.Errorf("flush all dropped %d, %d bytes left", n, s.Stats().Bytes)
	}
}

// TestLockOneLeader: of many concurrent callers for one key, one leads
// and the rest wait until it releases.
func TestLockOneLeader(t *testing.T) {
	s := New(Limits{MaxBytes: 1 << 20, MaxEntries: 10, MaxEntryBytes: 1 << 10})
	var leaders, woken atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	var release func()
	var mu sync.Mutex
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			lead, wait, rel := s.Lock("k")
			if lead {
				leaders.Add(1)
				mu.Lock()
				release = rel
				mu.Unlock()
				return
			}
			<-wait
			woken.Add(1)
		}()
	}
	close(start)
	for s.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if woken.Load() != 0 {
		t.Fatal("a waiter woke before the leader released")
	}
	mu.Lock()
	release()
	release() // twice is harmless
	mu.Unlock()
	wg.Wait()
	if leaders.Load() != 1 || woken.Load() != 49 || s.InFlight() != 0 {
		t.Errorf("leaders %d, woken %d, in flight %d", leaders.Load(), woken.Load(), s.InFlight())
	}
}

func TestCacheControl(t *testing.T) {
	h := http.Header{"Cache-Control": {`max-age=60, s-maxage=30, private="set-cookie", no-cache`, "must-revalidate"}}
	d := ParseCacheControl(h)
	if d.MaxAge != time.Minute || d.SMaxAge != 30*time.Second || !d.Private || !d.NoCache || !d.MustRevalidate || d.NoStore {
		t.Errorf("parsed %+v", d)
	}
	if f := Freshness(h, d, time.Hour, 0); f != 30*time.Second {
		t.Errorf("s-maxage should win: %v", f)
	}
	if f := Freshness(http.Header{}, ParseCacheControl(http.Header{}), time.Hour, 10*time.Minute); f != 10*time.Minute {
		t.Errorf("max_ttl should cap: %v", f)
	}
	bad := http.Header{"Cache-Control": {"max-age=abc"}}
	if f := Freshness(bad, ParseCacheControl(bad), time.Hour, 0); f != 0 {
		t.Errorf("an invalid max-age must mean stale, got %v", f)
	}
	now := time.Now().UTC()
	exp := http.Header{"Date": {now.Format(http.TimeFormat)}, "Expires": {now.Add(90 * time.Second).Format(http.TimeFormat)}}
	if f := Freshness(exp, ParseCacheControl(exp), time.Hour, 0); f < 89*time.Second || f > 91*time.Second {
		t.Errorf("Expires - Date: %v", f)
	}
	inv := http.Header{"Expires": {"0"}}
	if f := Freshness(inv, ParseCacheControl(inv), time.Hour, 0); f != 0 {
		t.Errorf("an invalid Expires means expired: %v", f)
	}
}

func TestNotModified(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := &Entry{Header: http.Header{"Etag": {`W/"v1"`}, "Last-Modified": {lm.Format(http.TimeFormat)}}}
	cases := []struct {
		h    http.Header
		want bool
	}{
		{http.Header{"If-None-Match": {`"v1"`}}, true},
		{http.Header{"If-None-Match": {`"v0", W/"v1"`}}, true},
		{http.Header{"If-None-Match": {`*`}}, true},
		{http.Header{"If-None-Match": {`"v2"`}}, false},
		// If-None-Match wins over If-Modified-Since
		{http.Header{"If-None-Match": {`"v2"`}, "If-Modified-Since": {lm.Format(http.TimeFormat)}}, false},
		{http.Header{"If-Modified-Since": {lm.Format(http.TimeFormat)}}, true},
		{http.Header{"If-Modified-Since": {lm.Add(-time.Second).Format(http.TimeFormat)}}, false},
		{http.Header{"If-Modified-Since": {"yesterday"}}, false},
		{http.Header{}, false},
	}
	for i, c := range cases {
		if got := NotModified(c.h, e); got != c.want {
			t.Errorf("case %d %v: got %v", i, c.h, got)
		}
	}
}

// BenchmarkGet is the store's share of a hit.
func BenchmarkGet(b *testing.B) {
	s := New(Limits{MaxBytes: 64 << 20, MaxEntries: 10000, MaxEntryBytes: 1 << 20})
	for i := 0; i < 1000; i++ {
		s.Put(fmt.Sprint("route\x00GET\x00/items/", i), entry("route", 512))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := s.Get("route\x00GET\x00/items/500"); !ok {
			b.Fatal("miss")
		}
	}
}
