// Package shell is raygate's console: a registry of commands, line editing
// and history over any byte stream (the image's UART, a hosted terminal, or a
// pipe in tests), and the system commands every target has.
//
// Gateway subsystems register their own commands (gateway, apiauth, mediate,
// balance, resilience, apimetrics) through Register; the shell knows nothing
// of them. It may import only the standard library and golang.org/x/term.
package shell

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
)

// Command is one console command.
type Command struct {
	// Name is the word typed to run the command.
	Name string
	// Summary is a one-line description for `help`.
	Summary string
	// Usage lists the forms of the command, one per line, for
	// `help <command>` and usage errors.
	Usage string
	// Run executes the command. args excludes the command name. An error
	// wrapping ErrUsage prints the command's usage after the message.
	Run func(out io.Writer, args []string) error
	// Interactive, when set, runs instead of Run where the console can give
	// it the input (a refreshing view that stops on a key press).
	Interactive func(in io.Reader, out io.Writer, args []string) error
	// RawAfter, when positive, passes whatever follows the first RawAfter
	// arguments verbatim as one last argument (quotes and all), for
	// commands that take a definition in another syntax, such as YAML.
	RawAfter int
}

// ErrUsage marks an error caused by bad arguments.
var ErrUsage = errors.New("usage")

// Usagef returns an error, wrapping ErrUsage, with a formatted message.
func Usagef(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, a...)...)
}

// Registry holds the commands of one shell.
type Registry struct {
	mu       sync.RWMutex
	commands map[string]*Command
}

// NewRegistry returns a registry holding only `help`.
func NewRegistry() *Registry {
	r := &Registry{commands: map[string]*Command{}}
	r.Register(&Command{
		Name:    "help",
		Summary: "list commands, or describe one",
		Usage:   "help [command]",
		Run:     r.help,
	})
	return r
}

// Register adds a command; registering a name twice is a programming error.
func (r *Registry) Register(c *Command) {
	if c.Name == "" || c.Run == nil || strings.ContainsAny(c.Name, " \t") {
		panic(fmt.Sprintf("shell: invalid command %q", c.Name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.commands[c.Name]; dup {
		panic(fmt.Sprintf("shell: command %q registered twice", c.Name))
	}
	r.commands[c.Name] = c
}

// Lookup returns the named command.
func (r *Registry) Lookup(name string) (*Command, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.commands[name]
	return c, ok
}

// Names returns the command names in order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.commands))
	for n := range r.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *Registry) help(out io.Writer, args []string) error {
	switch len(args) {
	case 0:
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, n := range r.Names() {
			c, _ := r.Lookup(n)
			fmt.Fprintf(tw, "%s\t%s\n", c.Name, c.Summary)
		}
		tw.Flush()
		fmt.Fprintln(out, "type 'help <command>' for its usage")
		return nil
	case 1:
		c, ok := r.Lookup(args[0])
		if !ok {
			return fmt.Errorf("no command %q; type 'help' for the list", args[0])
		}
		fmt.Fprintf(out, "%s - %s\n", c.Name, c.Summary)
		if c.Usage != "" {
			fmt.Fprintf(out, "usage:\n")
			for _, l := range strings.Split(c.Usage, "\n") {
				fmt.Fprintf(out, "  %s\n", l)
			}
		}
		return nil
	}
	return Usagef("help takes at most one argument")
}

// Exec runs one command line and writes its output, or its error, to out.
// It never panics: a panic inside a command is recovered and reported with
// its stack, and the shell goes on.
func (r *Registry) Exec(out io.Writer, line string) (err error) {
	return r.ExecWith(nil, out, line)
}

// ExecWith is Exec with the console's input, for interactive commands.
func (r *Registry) ExecWith(in io.Reader, out io.Writer, line string) (err error) {
	args, err := Split(line)
	if err != nil {
		fmt.Fprintf(out, "error: %v\n", err)
		return err
	}
	if len(args) == 0 {
		return nil
	}
	c, ok := r.Lookup(args[0])
	if !ok {
		err = fmt.Errorf("unknown command %q; type 'help' for the list", args[0])
		fmt.Fprintf(out, "error: %v\n", err)
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("command %q panicked: %v", c.Name, p)
			fmt.Fprintf(out, "error: %v\n%s", err, debug.Stack())
		}
	}()
	if c.RawAfter > 0 && len(args) > 1+c.RawAfter {
		words, rest, _ := splitN(line, 1+c.RawAfter)
		args = append(words, rest)
	}
	run := c.Run
	if c.Interactive != nil && in != nil {
		run = func(out io.Writer, args []string) error { return c.Interactive(in, out, args) }
	}
	if err = run(out, args[1:]); err != nil {
		fmt.Fprintf(out, "error: %v\n", err)
		if errors.Is(err, ErrUsage) && c.Usage != "" {
			fmt.Fprintf(out, "usage:\n")
			for _, l := range strings.Split(c.Usage, "\n") {
				fmt.Fprintf(out, "  %s\n", l)
			}
		}
	}
	return err
}

// MaxLine bounds one command line; longer input is refused, not buffered.
const MaxLine = 4096

// splitN returns the first n words of line and the rest of the line after
// them, verbatim but for surrounding blanks.
func splitN(line string, n int) (words []string, rest string, err error) {
	i := 0
	for len(words) < n {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		start := i
		var quote byte
		for i < len(line) {
			c := line[i]
			if quote != 0 {
				if c == quote {
					quote = 0
				}
			} else if c == '\'' || c == '"' {
				quote = c
			} else if c == '\\' {
				i++
			} else if c == ' ' || c == '\t' {
				break
			}
			i++
		}
		w, err := Split(line[start:min(i, len(line))])
		if err != nil {
			return nil, "", err
		}
		words = append(words, w...)
	}
	return words, strings.TrimSpace(line[min(i, len(line)):]), nil
}

// Split breaks a command line into words. Words are separated by blanks;
// single or double quotes group blanks into one word; a backslash escapes the
// next character outside single quotes.
func Split(line string) ([]string, error) {
	if len(line) > MaxLine {
		return nil, fmt.Errorf("line of %d bytes exceeds %d", len(line), MaxLine)
	}
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, c := range line {
		switch {
		case escaped:
			cur.WriteRune(c)
			escaped = false
		case c == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c < 0x20 || c == 0x7f:
			return nil, fmt.Errorf("control character %#02x in command line", c)
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if escaped {
		return nil, errors.New("line ends with a lone backslash")
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
