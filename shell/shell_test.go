package shell

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"   ", nil, false},
		{"help", []string{"help"}, false},
		{"  gateway   routes ", []string{"gateway", "routes"}, false},
		{`route add "a b" 'c d'`, []string{"route", "add", "a b", "c d"}, false},
		{`x a\ b`, []string{"x", "a b"}, false},
		{`x ""`, []string{"x", ""}, false},
		{`x 'it''s'`, []string{"x", "its"}, false},
		{`x "unterminated`, nil, true},
		{`x \`, nil, true},
		{"x \x1b[A", nil, true},
		{strings.Repeat("a", MaxLine+1), nil, true},
	}
	for _, c := range cases {
		got, err := Split(c.in)
		if (err != nil) != c.err {
			t.Errorf("Split(%q) error = %v, want error %v", c.in, err, c.err)
			continue
		}
		if !c.err && !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func testRegistry() *Registry {
	r := NewRegistry()
	r.Register(&Command{Name: "echo", Summary: "print arguments", Usage: "echo <word>...",
		Run: func(out io.Writer, args []string) error {
			if len(args) == 0 {
				return Usagef("echo needs a word")
			}
			_, err := io.WriteString(out, strings.Join(args, " ")+"\n")
			return err
		}})
	r.Register(&Command{Name: "boom", Summary: "panics",
		Run: func(io.Writer, []string) error { var m map[string]int; m["x"] = 1; return nil }})
	r.RegisterSystem(System{Version: "test", Target: "hosted", Start: time.Now()})
	return r
}

func TestExec(t *testing.T) {
	r := testRegistry()
	var out bytes.Buffer

	if err := r.Exec(&out, "echo hello world"); err != nil || out.String() != "hello world\n" {
		t.Fatalf("echo: %v %q", err, out.String())
	}

	out.Reset()
	err := r.Exec(&out, "nosuch")
	if err == nil || !strings.Contains(out.String(), `unknown command "nosuch"`) {
		t.Fatalf("unknown: %v %q", err, out.String())
	}

	out.Reset()
	err = r.Exec(&out, "echo")
	if !errors.Is(err, ErrUsage) || !strings.Contains(out.String(), "usage:\n  echo <word>...") {
		t.Fatalf("usage: %v %q", err, out.String())
	}

	out.Reset()
	err = r.Exec(&out, "boom")
	if err == nil || !strings.Contains(out.String(), "panicked") || !strings.Contains(out.String(), "goroutine") {
		t.Fatalf("panic not reported with stack: %v %q", err, out.String())
	}
	// and the registry still works afterwards
	out.Reset()
	if err := r.Exec(&out, "echo again"); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	r.Exec(&out, "help")
	for _, name := range []string{"echo", "help", "mem", "net", "reboot", "uptime", "version"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("help lacks %q:\n%s", name, out.String())
		}
	}
	out.Reset()
	if err := r.Exec(&out, "help echo"); err != nil || !strings.Contains(out.String(), "echo <word>...") {
		t.Errorf("help echo: %v %q", err, out.String())
	}
	out.Reset()
	if err := r.Exec(&out, "help nosuch"); err == nil {
		t.Error("help nosuch: no error")
	}
	out.Reset()
	if err := r.Exec(&out, "reboot"); err == nil || !strings.Contains(out.String(), "not supported") {
		t.Errorf("reboot without hook: %v %q", err, out.String())
	}
	out.Reset()
	if err := r.Exec(&out, "mem"); err != nil || !strings.Contains(out.String(), "goroutines") {
		t.Errorf("mem: %v %q", err, out.String())
	}
	out.Reset()
	if err := r.Exec(&out, "mem bogus"); !errors.Is(err, ErrUsage) {
		t.Errorf("mem bogus: %v", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	r := NewRegistry()
	r.Register(&Command{Name: "help", Run: func(io.Writer, []string) error { return nil }})
}

func TestServeLines(t *testing.T) {
	r := testRegistry()
	in := strings.NewReader("echo one\r\n" + strings.Repeat("x", MaxLine+10) + "\necho two")
	var out bytes.Buffer
	if err := r.ServeLines(in, &out, "> "); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "one\n") || !strings.Contains(s, "two\n") || !strings.Contains(s, "exceeds") {
		t.Fatalf("output:\n%s", s)
	}
}

// rw joins a reader and a writer into the io.ReadWriter a terminal needs.
type rw struct {
	io.Reader
	io.Writer
}

func TestServeLineEditing(t *testing.T) {
	r := testRegistry()
	// "ecjo" then two backspaces and "ho x", enter; then up-arrow recalls
	// the previous line; then Ctrl-D ends the session.
	in := strings.NewReader("ecjo\x7f\x7fho x\r" + "\x1b[A\r" + "\x04")
	var out bytes.Buffer
	if err := r.Serve(rw{in, &out}, "raygate> "); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "x\r\n"); n < 2 {
		t.Fatalf("want the edited line run twice (history), got %d:\n%q", n, out.String())
	}
}

func TestRawAfter(t *testing.T) {
	r := NewRegistry()
	var got []string
	r.Register(&Command{Name: "def", RawAfter: 2, Run: func(_ io.Writer, args []string) error { got = args; return nil }})
	r.Exec(io.Discard, `def route add {name: x, match: {template: '/a/{id}'}, note: "two  spaces"}`)
	want := []string{"route", "add", `{name: x, match: {template: '/a/{id}'}, note: "two  spaces"}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	r.Exec(io.Discard, `def 'quoted word' remove  name`)
	if !reflect.DeepEqual(got, []string{"quoted word", "remove", "name"}) {
		t.Fatalf("got %q", got)
	}
	r.Exec(io.Discard, "def status")
	if !reflect.DeepEqual(got, []string{"status"}) {
		t.Fatalf("got %q", got)
	}
}
