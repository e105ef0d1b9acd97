package clirun

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// Lint checks the manner of a command tree, for the CLIs' tests: every
// command (hidden ones aside) has an Examples section, and every example
// that runs the binary name parses against the tree as it would at run
// time — the command exists, its flags exist and take the values given, its
// arguments and required flags are there. newRoot must return a fresh tree
// each call (parsing sets flag values).
func Lint(newRoot func() *cobra.Command, name string) []error {
	var errs []error
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			errs = append(errs, fmt.Errorf("%s: no Examples in its help", c.CommandPath()))
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			ran := false
			for _, words := range shellSegments(line) {
				for len(words) > 0 && envAssignment.MatchString(words[0]) {
					words = words[1:]
				}
				if len(words) == 0 || (words[0] != name && !strings.HasSuffix(words[0], "/"+name)) {
					continue
				}
				ran = true
				if err := parseExample(newRoot(), words[1:]); err != nil {
					errs = append(errs, fmt.Errorf("%s: example %q: %w", c.CommandPath(), strings.TrimSpace(line), err))
				}
			}
			if !ran {
				errs = append(errs, fmt.Errorf("%s: example %q does not run %s", c.CommandPath(), strings.TrimSpace(line), name))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
	return errs
}

var envAssignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// parseExample parses args against root as Execute would, short of running.
func parseExample(root *cobra.Command, args []string) error {
	root.InitDefaultVersionFlag()
	var helpFlags func(*cobra.Command)
	helpFlags = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		for _, s := range c.Commands() {
			helpFlags(s)
		}
	}
	helpFlags(root)
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	pos := cmd.Flags().Args()
	if cmd.HasSubCommands() && len(pos) > 0 {
		return fmt.Errorf("unknown command %q for %q", pos[0], cmd.CommandPath())
	}
	if err := cmd.ValidateArgs(pos); err != nil {
		return err
	}
	if v, _ := cmd.Flags().GetBool("version"); v {
		return nil
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return err
	}
	return cmd.ValidateFlagGroups()
}

// shellSegments splits a shell line into the word lists of its simple
// commands: quotes are honoured; |, ||, &&, ;, and the starts and ends of
// $( ) and <( ) separate commands; a redirection drops its file; # starts
// a comment. It is enough for the examples, not a shell.
func shellSegments(line string) [][]string {
	var segs [][]string
	var words []string
	var word strings.Builder
	inWord, skipNext := false, false
	endWord := func() {
		if inWord {
			if skipNext {
				skipNext = false
			} else {
				words = append(words, word.String())
			}
		}
		word.Reset()
		inWord = false
	}
	endSeg := func() {
		endWord()
		if len(words) > 0 {
			segs = append(segs, words)
		}
		words = nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\'' || r == '"':
			inWord = true
			j := i + 1
			for j < len(rs) && rs[j] != r {
				word.WriteRune(rs[j])
				j++
			}
			i = j
		case r == ' ' || r == '\t':
			endWord()
		case r == '#' && !inWord:
			endSeg()
			return segs
		case r == '|' || r == ';' || r == ')' || (r == '&' && i+1 < len(rs) && rs[i+1] == '&'):
			endSeg()
			if r == '&' || (r == '|' && i+1 < len(rs) && rs[i+1] == '|') {
				i++
			}
		case (r == '<' || r == '$') && i+1 < len(rs) && rs[i+1] == '(':
			endSeg()
			i++
		case r == '>' || r == '<':
			endWord()
			if i+1 < len(rs) && rs[i+1] == '>' {
				i++
			}
			skipNext = true
		default:
			inWord = true
			word.WriteRune(r)
		}
	}
	endSeg()
	return segs
}
