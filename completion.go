package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// newCompletionCommand returns `coda completion bash|zsh`: a completion
// script for the shell, completing modes, subcommands and flags of coda
// and of every busybox name, by asking the binary itself
// (--generate-bash-completion).
func newCompletionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh)",
		UsageText: "coda completion bash|zsh",
		Description: `Prints a script that makes the shell complete coda's modes, subcommands and flags, for
coda and for each busybox name (cfs, volutil, clog, …). "make install" installs both scripts;
to try one in the current shell, source it.

EXAMPLES:
   source <(coda completion bash)
   coda completion zsh > "${fpath[1]}/_coda"`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("completion: name the shell: bash or zsh", exitUsage)
			}
			names := strings.Join(append([]string{"coda"}, busyboxNames()...), " ")
			switch c.Args().First() {
			case "bash":
				_, err := fmt.Fprintf(c.App.Writer, bashCompletion, names)
				return err
			case "zsh":
				_, err := fmt.Fprintf(c.App.Writer, zshCompletion, names)
				return err
			}
			return cli.Exit(fmt.Sprintf("completion: unknown shell %q (bash or zsh)", c.Args().First()), exitUsage)
		},
	}
}

// bashCompletion asks the command typed so far for its candidates: the
// words before the cursor, then the word being completed when it is a
// flag (so that flags are listed), then --generate-bash-completion.
const bashCompletion = `# bash completion for coda and its busybox names (coda completion bash)
_coda_complete() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
	[[ $cur == -* ]] && words+=("$cur")
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$("${words[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _coda_complete %s
`

// zshCompletion does the same through zsh's completion system.
const zshCompletion = `#compdef %s
# zsh completion for coda and its busybox names (coda completion zsh)
_coda_complete() {
	local -a opts
	local cur=${words[CURRENT]}
	local -a before=("${(@)words[1,CURRENT-1]}")
	[[ $cur == -* ]] && before+=("$cur")
	opts=("${(@f)$(${before[@]} --generate-bash-completion 2>/dev/null)}")
	_describe 'values' opts || _files
}
_coda_complete "$@"
`
