package shell

import (
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzExec: any console line, through the word splitter, the raw-tail
// splitter and command dispatch, ends in output or an error: never a panic
// escaping Exec, never a hang.
func FuzzExec(f *testing.F) {
	r := testRegistry()
	r.Register(&Command{Name: "raw", Summary: "one word, then the raw rest", RawAfter: 1,
		Run: func(out io.Writer, args []string) error {
			_, err := io.WriteString(out, strings.Join(args, "|")+"\n")
			return err
		}})
	for _, s := range []string{"help", "help echo", "echo 'a b' \"c\\\" d\" e\\ f", "raw add {name: x, match: {prefix: /}}",
		"raw 'a b' c d", "boom", "nosuch", "echo \"unterminated", "raw a\\", "mem", "uptime", "\t \r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.Exec(io.Discard, line)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Exec(%q) did not return", line)
		}
	})
}
