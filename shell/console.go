package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"
)

// Serve runs an interactive shell on rw with line editing and history
// (golang.org/x/term) until rw reports EOF (Ctrl-D on an empty line).
func (r *Registry) Serve(rw io.ReadWriter, prompt string) error {
	t := term.NewTerminal(rw, prompt)
	for {
		line, err := t.ReadLine()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		r.ExecWith(rw, t, line)
	}
}

// ServeLines runs the shell over plain lines, for pipes and tests: no echo,
// no editing. A line longer than MaxLine is refused and skipped whole.
func (r *Registry) ServeLines(in io.Reader, out io.Writer, prompt string) error {
	br := bufio.NewReaderSize(in, MaxLine+1)
	for {
		fmt.Fprint(out, prompt)
		line, err := readLine(br)
		if errors.Is(err, errLineTooLong) {
			fmt.Fprintf(out, "error: line exceeds %d bytes\n", MaxLine)
			continue
		}
		if line != "" {
			r.Exec(out, line)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var errLineTooLong = errors.New("line too long")

func readLine(br *bufio.Reader) (string, error) {
	line, isPrefix, err := br.ReadLine()
	if isPrefix {
		for isPrefix && err == nil {
			_, isPrefix, err = br.ReadLine()
		}
		if err == nil {
			err = errLineTooLong
		}
		return "", err
	}
	return strings.TrimRight(string(line), "\r"), err
}
