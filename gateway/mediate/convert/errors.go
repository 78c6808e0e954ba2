package convert

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a conversion failure. Its message is specific enough for a client
// to fix its request and safe to return to it: it quotes at most a short,
// valid-UTF-8 excerpt of the input (see excerpt), never the input itself.
type Error struct {
	Format Format // the format being read (or written, for output limits)
	Msg    string
}

// Error renders "<format>: <msg>", with the format in its usual written
// form (XML, JSON, form, multipart), e.g. `XML: line 3: element <b> closed
// by </c>`.
func (e *Error) Error() string {
	return displayName(e.Format) + ": " + e.Msg
}

// displayName is how a format is named in a message: acronyms in capitals,
// as people write them. String gives the lower-case token instead.
func displayName(f Format) string {
	switch f {
	case JSON:
		return "JSON"
	case XML:
		return "XML"
	}
	return f.String()
}

func errorf(f Format, format string, args ...any) *Error {
	return &Error{Format: f, Msg: fmt.Sprintf(format, args...)}
}

// maxExcerpt bounds how much of a name or value an error message quotes.
const maxExcerpt = 40

// excerpt quotes s for a message: cut to maxExcerpt bytes on a rune
// boundary, invalid UTF-8 replaced, Go-quoted so control characters show.
func excerpt(s string) string {
	return strconv.Quote(clip(s, maxExcerpt))
}

// clip cuts s to at most n bytes (plus an ellipsis) and makes it valid
// UTF-8, so a message built around it stays short and printable.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// foreignMessage makes a message from another package's error (encoding/xml,
// encoding/json, mime/multipart) safe to pass on: some of those quote input
// (an element name, a whole line), so the message is clipped.
func foreignMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"xml: ", "json: ", "multipart: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return clip(msg, 160)
}
