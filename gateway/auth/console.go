package auth

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/raygate/raygate/shell"
)

const apiauthUsage = `apiauth tokens [subject]
apiauth keys
apiauth perms <key-id|subject>
apiauth issue <subject> <role> [ttl]        prints the token once
apiauth refresh <token-id> [ttl]
apiauth revoke <token-id|key-id>
apiauth key add <id> <role> [perms=read,write] [services=a,b] [routes=r] [ttl=720h]   prints the key once
apiauth key remove <id>
apiauth failures
apiauth jwks`

// RegisterCommands adds the `apiauth` console command.
func (a *Auth) RegisterCommands(r *shell.Registry) {
	r.Register(&shell.Command{
		Name:    "apiauth",
		Summary: "tokens, API keys, permissions, lockouts",
		Usage:   apiauthUsage,
		Run:     a.command,
	})
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func (a *Auth) command(out io.Writer, args []string) error {
	if len(args) == 0 {
		return shell.Usagef("apiauth needs a subcommand")
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	now := a.now()
	switch args[0] {
	case "tokens":
		if a.tokens == nil {
			return fmt.Errorf("gateway-issued tokens are not configured (auth.tokens)")
		}
		if len(args) > 2 {
			return shell.Usagef("tokens takes at most a subject")
		}
		subject := ""
		if len(args) == 2 {
			subject = args[1]
		}
		list, c := a.tokens.Tokens(subject)
		fmt.Fprintf(tw, "active %d, expired %d, revoked %d\n", c.Active, c.Expired, c.Revoked)
		fmt.Fprintln(tw, "ID\tSUBJECT\tROLE\tISSUED\tEXPIRES\tSTATE")
		for _, r := range list {
			state := "active"
			switch {
			case r.Revoked:
				state = "revoked"
			case !now.Before(r.Expires):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Subject, r.Role, when(r.Issued), when(r.Expires), state)
		}
	case "keys":
		if a.keys == nil {
			return fmt.Errorf("API keys are not configured (auth.api_keys)")
		}
		fmt.Fprintln(tw, "ID\tPREFIX\tROLE\tPERMISSIONS\tBOUND TO\tEXPIRES\tSOURCE")
		for _, k := range a.keys.Keys() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Role, k.Permissions, binding(k), when(k.Expires), k.Source)
		}
	case "perms":
		if len(args) != 2 {
			return shell.Usagef("perms needs a key id or a subject")
		}
		return a.perms(tw, args[1])
	case "issue":
		if a.tokens == nil {
			return fmt.Errorf("gateway-issued tokens are not configured (auth.tokens)")
		}
		if len(args) < 3 || len(args) > 4 {
			return shell.Usagef("issue <subject> <role> [ttl]")
		}
		ttl, err := optDuration(args, 3)
		if err != nil {
			return err
		}
		tok, rec, err := a.tokens.Issue(args[1], args[2], ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "token %s for %s (%s), expires %s; shown once:\n%s\n", rec.ID, rec.Subject, rec.Role, when(rec.Expires), tok)
	case "refresh":
		if a.tokens == nil {
			return fmt.Errorf("gateway-issued tokens are not configured (auth.tokens)")
		}
		if len(args) < 2 || len(args) > 3 {
			return shell.Usagef("refresh <token-id> [ttl]")
		}
		ttl, err := optDuration(args, 2)
		if err != nil {
			return err
		}
		tok, rec, err := a.tokens.Refresh(args[1], ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "token %s replaces %s (revoked), expires %s; shown once:\n%s\n", rec.ID, args[1], when(rec.Expires), tok)
	case "revoke":
		if len(args) != 2 {
			return shell.Usagef("revoke <token-id|key-id>")
		}
		if a.keys != nil {
			if _, ok := a.keys.Key(args[1]); ok {
				if err := a.keys.Remove(args[1]); err != nil {
					return err
				}
				fmt.Fprintf(tw, "key %s removed\n", args[1])
				return nil
			}
		}
		if a.tokens == nil {
			return fmt.Errorf("no key %q, and tokens are not configured", args[1])
		}
		if err := a.tokens.Revoke(args[1]); err != nil {
			return err
		}
		fmt.Fprintf(tw, "token %s revoked\n", args[1])
	case "key":
		if a.keys == nil {
			return fmt.Errorf("API keys are not configured (auth.api_keys)")
		}
		switch {
		case len(args) >= 4 && args[1] == "add":
			var perms, services, routes []string
			var ttl time.Duration
			for _, opt := range args[4:] {
				k, v, ok := strings.Cut(opt, "=")
				if !ok || v == "" {
					return shell.Usagef("option %q is not name=value", opt)
				}
				switch k {
				case "perms":
					perms = strings.Split(v, ",")
				case "services":
					services = strings.Split(v, ",")
				case "routes":
					routes = strings.Split(v, ",")
				case "ttl":
					d, err := time.ParseDuration(v)
					if err != nil || d <= 0 {
						return shell.Usagef("ttl %q is not a positive duration like 720h", v)
					}
					ttl = d
				default:
					return shell.Usagef("unknown option %q", k)
				}
			}
			key, info, err := a.keys.Create(args[2], args[3], perms, services, routes, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "key %s (%s, %s), expires %s; shown once:\n%s\n", info.ID, info.Role, info.Permissions, when(info.Expires), key)
		case len(args) == 3 && args[1] == "remove":
			if err := a.keys.Remove(args[2]); err != nil {
				return err
			}
			fmt.Fprintf(tw, "key %s removed\n", args[2])
		default:
			return shell.Usagef("key add <id> <role> [options] or key remove <id>")
		}
	case "failures":
		fmt.Fprintln(tw, "ADDRESS OR CREDENTIAL\tFAILURES\tLOCKOUTS\tLOCKED FOR")
		for _, f := range a.lock.list(now) {
			locked := "-"
			if f.Locked > 0 {
				locked = f.Locked.String()
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", f.Key, f.Failures, f.Lockouts, locked)
		}
	case "jwks":
		st := a.jwt.status()
		if st == nil {
			return fmt.Errorf("no JWKS configured (auth.jwt.jwks)")
		}
		age := "never fetched"
		if st.Age >= 0 {
			age = st.Age.Round(time.Second).String() + " ago"
		}
		fmt.Fprintf(tw, "url\t%s\nkeys\t%d\nlast good fetch\t%s\nfetches\t%d (%d failed)\n", st.URL, st.Keys, age, st.Fetches, st.Errors)
		if st.LastError != "" {
			fmt.Fprintf(tw, "last error\t%s\n", st.LastError)
		}
	default:
		return shell.Usagef("unknown subcommand %q", args[0])
	}
	return nil
}

func binding(k KeyInfo) string {
	var b []string
	if len(k.Services) > 0 {
		b = append(b, "services "+strings.Join(k.Services, ","))
	}
	if len(k.Routes) > 0 {
		b = append(b, "routes "+strings.Join(k.Routes, ","))
	}
	if len(b) == 0 {
		return "any route"
	}
	return strings.Join(b, "; ")
}

func optDuration(args []string, i int) (time.Duration, error) {
	if len(args) <= i {
		return 0, nil
	}
	d, err := time.ParseDuration(args[i])
	if err != nil || d <= 0 {
		return 0, shell.Usagef("ttl %q is not a positive duration like 30m", args[i])
	}
	return d, nil
}

func (a *Auth) perms(tw io.Writer, who string) error {
	found := false
	if a.keys != nil {
		if k, ok := a.keys.Key(who); ok {
			fmt.Fprintf(tw, "key %s\trole %s\tpermissions %s\t%s\n", k.ID, k.Role, k.Permissions, binding(k))
			found = true
		}
	}
	if a.basic != nil {
		if u := a.basic.users[who]; u != nil {
			fmt.Fprintf(tw, "basic user %s\trole %s\tpermissions %s\n", u.name, u.role, u.perms)
			found = true
		}
	}
	if a.tokens != nil {
		list, _ := a.tokens.Tokens(who)
		for _, r := range list {
			fmt.Fprintf(tw, "token %s\trole %s\tpermissions %s\texpires %s\n", r.ID, r.Role, RolePerms[r.Role], when(r.Expires))
			found = true
		}
	}
	if !found {
		return fmt.Errorf("no key, user or token subject %q", who)
	}
	return nil
}
