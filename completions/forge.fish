# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_forge_global_optspecs
    string join \n C= json color= q/quiet h/help V/version
end

function __fish_forge_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_forge_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_forge_using_subcommand
    set -l cmd (__fish_forge_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c forge -n "__fish_forge_needs_command" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_needs_command" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_needs_command" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_needs_command" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_needs_command" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_needs_command" -f -a "init" -d 'Create .forge/ and the runtime directory (idempotent)'
complete -c forge -n "__fish_forge_needs_command" -f -a "bead" -d 'Create, list, show and change beads (work items)'
complete -c forge -n "__fish_forge_needs_command" -f -a "ready" -d 'List beads that are ready to work on, most urgent first'
complete -c forge -n "__fish_forge_needs_command" -f -a "blocked" -d 'List open beads that are not ready, each with what blocks it'
complete -c forge -n "__fish_forge_needs_command" -f -a "show" -d 'Show a bead (shortcut for `forge bead show`)'
complete -c forge -n "__fish_forge_needs_command" -f -a "step" -d 'Run one bead through a harness on its own worktree branch'
complete -c forge -n "__fish_forge_needs_command" -f -a "steps" -d 'List steps and their states'
complete -c forge -n "__fish_forge_needs_command" -f -a "log" -d 'Show what a step\'s harness said and did'
complete -c forge -n "__fish_forge_needs_command" -f -a "status" -d 'Summarise what needs attention: ready, running, waiting for approval, failed'
complete -c forge -n "__fish_forge_needs_command" -f -a "watch" -d 'Watch what forge is doing here, live, on a full screen'
complete -c forge -n "__fish_forge_needs_command" -f -a "gc" -d 'Remove worktrees and branches of finished steps, keeping their state in refs/forge/attic/'
complete -c forge -n "__fish_forge_needs_command" -f -a "approve" -d 'Approve a step and merge it into its base branch'
complete -c forge -n "__fish_forge_needs_command" -f -a "reject" -d 'Reject a waiting step: keep its work in the attic, reopen the bead with the reason'
complete -c forge -n "__fish_forge_needs_command" -f -a "revise" -d 'Send feedback on a step to its harness, commit the changes, rerun the gates'
complete -c forge -n "__fish_forge_needs_command" -f -a "rollback" -d 'Undo a step: revert a merged one, discard a pending one; the bead reopens'
complete -c forge -n "__fish_forge_needs_command" -f -a "queue" -d 'List and reorder the merge queue (`[policy] merge = "queue"`)'
complete -c forge -n "__fish_forge_needs_command" -f -a "plan" -d 'Turn a goal into a reviewed graph of beads'
complete -c forge -n "__fish_forge_needs_command" -f -a "tick" -d 'Do one round of unattended work (for cron)'
complete -c forge -n "__fish_forge_needs_command" -f -a "pause" -d 'Stop `forge tick` from starting new work until `forge resume`'
complete -c forge -n "__fish_forge_needs_command" -f -a "resume" -d 'Let `forge tick` work again (also resets the circuit breaker)'
complete -c forge -n "__fish_forge_needs_command" -f -a "cron" -d 'Run `forge tick` from cron'
complete -c forge -n "__fish_forge_needs_command" -f -a "assume" -d 'Record an assumption: something guessed that someone should check'
complete -c forge -n "__fish_forge_needs_command" -f -a "assumptions" -d 'List assumptions'
complete -c forge -n "__fish_forge_needs_command" -f -a "assumption" -d 'Settle assumptions'
complete -c forge -n "__fish_forge_needs_command" -f -a "ledger" -d 'Read, check and review the append-only run ledger'
complete -c forge -n "__fish_forge_needs_command" -f -a "cost" -d 'Sum the tokens and money harness runs spent, from the ledger'
complete -c forge -n "__fish_forge_needs_command" -f -a "hooks" -d 'Install, remove or inspect forge\'s git hooks (pre-commit, post-commit)'
complete -c forge -n "__fish_forge_needs_command" -f -a "doctor" -d 'Check that this repository is in shape for forge, and say how to fix what is not'
complete -c forge -n "__fish_forge_needs_command" -f -a "resolve" -d 'Repair .forge/ files that a merge left with git conflict markers'
complete -c forge -n "__fish_forge_needs_command" -f -a "import" -d 'Import work items from another tracker'
complete -c forge -n "__fish_forge_needs_command" -f -a "hook" -d 'Run forge\'s part of a git hook'
complete -c forge -n "__fish_forge_needs_command" -f -a "merge-driver" -d 'Merge three versions of a .forge/ file field by field (git merge driver)'
complete -c forge -n "__fish_forge_needs_command" -f -a "generate" -d 'Write man pages and shell completions (for packagers and the repository\'s own copies)'
complete -c forge -n "__fish_forge_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand init" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand init" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand init" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand init" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand init" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "create" -d 'Create a bead (with -q, print only its id)'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "list" -d 'List beads (open and deferred by default), sorted by priority then id'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "show" -d 'Show one bead in full (an epic with its children and what it waits for)'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "update" -d 'Change fields of a bead'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "close" -d 'Close a bead'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "reopen" -d 'Reopen a closed or deferred bead'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "defer" -d 'Defer a bead: keep it, but out of the ready queue (its children too)'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "dep" -d 'Add or remove dependencies'
complete -c forge -n "__fish_forge_using_subcommand bead; and not __fish_seen_subcommand_from create list show update close reopen defer dep help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s d -l description -d 'Longer description' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s a -l acceptance -d 'An acceptance criterion (repeatable)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s k -l kind -d 'Kind of work' -r -f -a "task\t''
bug\t''
feature\t''
epic\t''
chore\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s p -l priority -d 'Priority from 0 (most urgent) to 4' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -l value -d 'Value to the project, 0 to 100' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -l risk -d 'Risk of the change' -r -f -a "low\t''
medium\t''
high\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s l -l label -d 'A label (repeatable)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -l dep -d 'A dependency, as ID or ID:TYPE with TYPE one of blocks (default), parent, related, discovered-from (repeatable)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -l parent -d 'The parent bead (same as --dep ID:parent)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s s -l status -d 'Only beads with this status (repeatable)' -r -f -a "open\t''
closed\t''
deferred\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s k -l kind -d 'Only beads of this kind (repeatable)' -r -f -a "task\t''
bug\t''
feature\t''
epic\t''
chore\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s l -l label -d 'Only beads with this label (repeatable: all must match)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s p -l priority -d 'Only beads with this priority (repeatable)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s a -l all -d 'Include closed beads'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from show" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from show" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from show" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s t -l title -d 'New title' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s d -l description -d 'New description' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s a -l acceptance -d 'Replace the acceptance criteria (repeatable)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s k -l kind -d 'New kind' -r -f -a "task\t''
bug\t''
feature\t''
epic\t''
chore\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s p -l priority -d 'New priority, 0 (most urgent) to 4' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -l value -d 'New value, 0 to 100' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -l risk -d 'New risk' -r -f -a "low\t''
medium\t''
high\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -l add-label -d 'Add a label (repeatable)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -l remove-label -d 'Remove a label (repeatable)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from update" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from close" -s r -l reason -d 'Why it is closed (done, duplicate, won\'t fix, ...)' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from close" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from close" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from close" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from close" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from close" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from close" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from reopen" -s r -l reason -d 'Why it is reopened' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from reopen" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from reopen" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from reopen" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from reopen" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from reopen" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from reopen" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from defer" -s r -l reason -d 'Why it is deferred' -r
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from defer" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from defer" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from defer" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from defer" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from defer" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from defer" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -f -a "add" -d 'Make ID depend on DEP (refused if it would make a cycle)'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -f -a "rm" -d 'Remove ID\'s dependency on DEP'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from dep" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a bead (with -q, print only its id)'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "list" -d 'List beads (open and deferred by default), sorted by priority then id'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one bead in full (an epic with its children and what it waits for)'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "update" -d 'Change fields of a bead'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "close" -d 'Close a bead'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "reopen" -d 'Reopen a closed or deferred bead'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "defer" -d 'Defer a bead: keep it, but out of the ready queue (its children too)'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "dep" -d 'Add or remove dependencies'
complete -c forge -n "__fish_forge_using_subcommand bead; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand ready" -s n -l limit -d 'Show at most N beads' -r
complete -c forge -n "__fish_forge_using_subcommand ready" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand ready" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand ready" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand ready" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand ready" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand ready" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand blocked" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand blocked" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand blocked" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand blocked" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand blocked" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand blocked" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand show" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand show" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand show" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand show" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand show" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand show" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand step" -l harness -d 'The [harness.NAME] to run (default: [step] harness in config)' -r
complete -c forge -n "__fish_forge_using_subcommand step" -l timeout -d 'Wall-clock limit in seconds, 1 to 604800 (a week); default: the harness\'s `timeout`' -r
complete -c forge -n "__fish_forge_using_subcommand step" -l rebase -d 'Replay this waiting step on the current tip of its base branch and rerun the gates' -r
complete -c forge -n "__fish_forge_using_subcommand step" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand step" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand step" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand step" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand step" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand step" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand steps" -l bead -d 'Only steps of this bead' -r
complete -c forge -n "__fish_forge_using_subcommand steps" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand steps" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand steps" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand steps" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand steps" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand steps" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand log" -l gate -d 'Show the whole output of this gate command instead (a name from `[[gates]]`)' -r
complete -c forge -n "__fish_forge_using_subcommand log" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand log" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand log" -s f -l follow -d 'Keep printing new output until the step stops running (raw output, as with --raw)'
complete -c forge -n "__fish_forge_using_subcommand log" -l raw -d 'Print the harness\'s output as it wrote it instead of the transcript'
complete -c forge -n "__fish_forge_using_subcommand log" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand log" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand log" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand status" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand status" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand status" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand status" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand status" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand status" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand watch" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand watch" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand watch" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand watch" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand watch" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand gc" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand gc" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand gc" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand gc" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand gc" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand gc" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand approve" -l head -d 'Approve only if the step\'s head is this commit (what you reviewed)' -r
complete -c forge -n "__fish_forge_using_subcommand approve" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand approve" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand approve" -l yes -d 'Approve STEP without asking (the ledger records that a flag approved it)'
complete -c forge -n "__fish_forge_using_subcommand approve" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand approve" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand approve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand approve" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand reject" -l reason -d 'Why (the next attempt\'s prompt includes it); asked for on a terminal' -r
complete -c forge -n "__fish_forge_using_subcommand reject" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand reject" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand reject" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand reject" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand reject" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand reject" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand revise" -l feedback -d 'What should change; asked for on a terminal' -r
complete -c forge -n "__fish_forge_using_subcommand revise" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand revise" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand revise" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand revise" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand revise" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand revise" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand rollback" -l reason -d 'Why (recorded, and given to the next attempt)' -r
complete -c forge -n "__fish_forge_using_subcommand rollback" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand rollback" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand rollback" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand rollback" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand rollback" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -f -a "move" -d 'Move a step to another place in the queue'
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -f -a "remove" -d 'Take a step out of the queue; it waits for approval again'
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -f -a "run" -d 'Run the queue now (as `forge approve` and `forge tick` do)'
complete -c forge -n "__fish_forge_using_subcommand queue; and not __fish_seen_subcommand_from move remove run help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from move" -l to -d 'Its new place, from 1 (the next to merge)' -r
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from move" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from move" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from move" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from move" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from move" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from move" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from remove" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from remove" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from remove" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from run" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from run" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from run" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from run" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "move" -d 'Move a step to another place in the queue'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Take a step out of the queue; it waits for approval again'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "run" -d 'Run the queue now (as `forge approve` and `forge tick` do)'
complete -c forge -n "__fish_forge_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand plan" -l from -d 'Use this plan file (TOML or JSON) instead of a planner' -r -F
complete -c forge -n "__fish_forge_using_subcommand plan" -l harness -d 'The [harness.NAME] to plan with' -r
complete -c forge -n "__fish_forge_using_subcommand plan" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand plan" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand plan" -l yes -d 'Accept the plan without asking'
complete -c forge -n "__fish_forge_using_subcommand plan" -l dry-run -d 'Show what would be created, create nothing'
complete -c forge -n "__fish_forge_using_subcommand plan" -l schema -d 'Print the plan format as JSON Schema'
complete -c forge -n "__fish_forge_using_subcommand plan" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand plan" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand plan" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand tick" -l harness -d 'The [harness.NAME] to run (default: [step] harness)' -r
complete -c forge -n "__fish_forge_using_subcommand tick" -s j -l jobs -d 'Steps to run at once, each in its own worktree, sandbox and lease (default: [tick] jobs, 1); a step starts only while the day\'s [budget] covers its reservation' -r
complete -c forge -n "__fish_forge_using_subcommand tick" -l remote -d 'Claim beads on this shared git remote, so that ticks on several machines never run one twice, and publish each result there (default: [tick] remote; see docs/scale-out.md)' -r
complete -c forge -n "__fish_forge_using_subcommand tick" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand tick" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand tick" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand tick" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand tick" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand tick" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand pause" -l reason -d 'Why (shown by every tick while paused)' -r
complete -c forge -n "__fish_forge_using_subcommand pause" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand pause" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand pause" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand pause" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand pause" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand pause" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand resume" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand resume" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand resume" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand resume" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand resume" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand resume" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -f -a "install" -d 'Add (or update) this repository\'s entry in your crontab'
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -f -a "uninstall" -d 'Remove this repository\'s entry from your crontab'
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -f -a "show" -d 'Print the entry `install` would add, and whether it is installed'
complete -c forge -n "__fish_forge_using_subcommand cron; and not __fish_seen_subcommand_from install uninstall show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from install" -l every -d 'Minutes between ticks' -r
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from install" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from install" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from install" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from uninstall" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from uninstall" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from uninstall" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from uninstall" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from uninstall" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from show" -l every -d 'Minutes between ticks' -r
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from show" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from show" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from show" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "install" -d 'Add (or update) this repository\'s entry in your crontab'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove this repository\'s entry from your crontab'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the entry `install` would add, and whether it is installed'
complete -c forge -n "__fish_forge_using_subcommand cron; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand assume" -l bead -d 'The bead that rests on it (default inside a step: the step\'s bead)' -r
complete -c forge -n "__fish_forge_using_subcommand assume" -l risk -d 'How bad it would be if it were wrong (default: medium)' -r
complete -c forge -n "__fish_forge_using_subcommand assume" -l mitigation -d 'How to reduce the risk' -r
complete -c forge -n "__fish_forge_using_subcommand assume" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand assume" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand assume" -l mitigate -d 'Also create a bead that would check or remove the assumption'
complete -c forge -n "__fish_forge_using_subcommand assume" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand assume" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand assume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand assume" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand assumptions" -l bead -d 'Only those resting under this bead' -r
complete -c forge -n "__fish_forge_using_subcommand assumptions" -l step -d 'Only those raised by this step' -r
complete -c forge -n "__fish_forge_using_subcommand assumptions" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand assumptions" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand assumptions" -l open -d 'Only those not yet validated or invalidated'
complete -c forge -n "__fish_forge_using_subcommand assumptions" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand assumptions" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand assumptions" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand assumptions" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand assumption; and not __fish_seen_subcommand_from resolve help" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand assumption; and not __fish_seen_subcommand_from resolve help" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand assumption; and not __fish_seen_subcommand_from resolve help" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand assumption; and not __fish_seen_subcommand_from resolve help" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand assumption; and not __fish_seen_subcommand_from resolve help" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand assumption; and not __fish_seen_subcommand_from resolve help" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand assumption; and not __fish_seen_subcommand_from resolve help" -f -a "resolve" -d 'Mark an assumption validated or invalidated (invalidating flags its bead for review)'
complete -c forge -n "__fish_forge_using_subcommand assumption; and not __fish_seen_subcommand_from resolve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -l note -d 'What was found' -r
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -l validated -d 'It holds'
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -l invalidated -d 'It does not hold'
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from resolve" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from help" -f -a "resolve" -d 'Mark an assumption validated or invalidated (invalidating flags its bead for review)'
complete -c forge -n "__fish_forge_using_subcommand assumption; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -f -a "show" -d 'List ledger events, oldest first'
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -f -a "render" -d 'Review what the ledger gained in a range of commits, for a pull request'
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -f -a "verify" -d 'Check every hash chain in the ledger, and with --range its history and approvals'
complete -c forge -n "__fish_forge_using_subcommand ledger; and not __fish_seen_subcommand_from show render verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from show" -l bead -d 'Only events about this bead (id or unique prefix)' -r
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from show" -s n -l limit -d 'Only the last N events' -r
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from show" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from show" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from show" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from render" -l range -d 'Commits to review: BASE..HEAD, BASE...HEAD (from their merge base), or BASE (up to HEAD) [default: from the merge base with the default branch]' -r
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from render" -l format -d 'Output format; `--json` means json' -r -f -a "markdown\t''
json\t''"
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from render" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from render" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from render" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from render" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from render" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -l range -d 'Also check the committed history of BASE..HEAD, BASE...HEAD or BASE (up to HEAD), and that its agent commits reached HEAD through approvals' -r
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -l no-quarantine -d 'Change nothing: report a torn last line as a problem instead of moving it aside'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -l require-signed -d 'With --range: every approval merge must carry a good signature (`git verify-commit`, by your gpg or ssh configuration, e.g. gpg.ssh.allowedSignersFile)'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "show" -d 'List ledger events, oldest first'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "render" -d 'Review what the ledger gained in a range of commits, for a pull request'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check every hash chain in the ledger, and with --range its history and approvals'
complete -c forge -n "__fish_forge_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand cost" -l by -d 'Group runs by bead, step, day (UTC) or harness [default: totals only]' -r -f -a "bead\t''
step\t''
day\t''
harness\t''"
complete -c forge -n "__fish_forge_using_subcommand cost" -l since -d 'Only runs that finished on or after DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)' -r
complete -c forge -n "__fish_forge_using_subcommand cost" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand cost" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand cost" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand cost" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand cost" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand cost" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "install" -d 'Add forge\'s block to the pre-commit and post-commit hooks; register the merge driver'
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "uninstall" -d 'Remove forge\'s block from the hooks (and hook files forge created)'
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "status" -d 'Show whether forge\'s hooks and merge driver are installed'
complete -c forge -n "__fish_forge_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from install" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from install" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from install" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from status" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from status" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from status" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "install" -d 'Add forge\'s block to the pre-commit and post-commit hooks; register the merge driver'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove forge\'s block from the hooks (and hook files forge created)'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show whether forge\'s hooks and merge driver are installed'
complete -c forge -n "__fish_forge_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand doctor" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand doctor" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand doctor" -l fix -d 'Apply the safe fixes'
complete -c forge -n "__fish_forge_using_subcommand doctor" -l theirs -d 'When repairing, settle a field both sides changed for their side (default: ours)'
complete -c forge -n "__fish_forge_using_subcommand doctor" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand doctor" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand resolve" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand resolve" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand resolve" -l theirs -d 'Settle a field both sides changed for their side instead of ours'
complete -c forge -n "__fish_forge_using_subcommand resolve" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand resolve" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand resolve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand resolve" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand import; and not __fish_seen_subcommand_from beads help" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand import; and not __fish_seen_subcommand_from beads help" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand import; and not __fish_seen_subcommand_from beads help" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand import; and not __fish_seen_subcommand_from beads help" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand import; and not __fish_seen_subcommand_from beads help" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand import; and not __fish_seen_subcommand_from beads help" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand import; and not __fish_seen_subcommand_from beads help" -f -a "beads" -d 'Import an issues.jsonl written by beads (bd) or beads_rust (br), all or nothing'
complete -c forge -n "__fish_forge_using_subcommand import; and not __fish_seen_subcommand_from beads help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from beads" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from beads" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from beads" -l skip-invalid -d 'Import the valid issues, skipping (and listing) invalid lines and the issues that depend on them'
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from beads" -l dry-run -d 'Check and show what would be imported; write nothing (the ids shown are not reserved)'
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from beads" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from beads" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from beads" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from beads" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "beads" -d 'Import an issues.jsonl written by beads (bd) or beads_rust (br), all or nothing'
complete -c forge -n "__fish_forge_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -f -a "pre-commit" -d 'Check the staged .forge/ files; exit 7 to refuse the commit'
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -f -a "post-commit" -d 'Link and close beads named in the new commit\'s trailers; never fails'
complete -c forge -n "__fish_forge_using_subcommand hook; and not __fish_seen_subcommand_from pre-commit post-commit help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from pre-commit" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from pre-commit" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from pre-commit" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from pre-commit" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from pre-commit" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from pre-commit" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from post-commit" -l rev -d 'The commit to read (default: HEAD)' -r
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from post-commit" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from post-commit" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from post-commit" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from post-commit" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from post-commit" -s h -l help -d 'Print help'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from post-commit" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "pre-commit" -d 'Check the staged .forge/ files; exit 7 to refuse the commit'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "post-commit" -d 'Link and close beads named in the new commit\'s trailers; never fails'
complete -c forge -n "__fish_forge_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand merge-driver" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand merge-driver" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand merge-driver" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand merge-driver" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand merge-driver" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand merge-driver" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand generate" -l out -d 'Directory to write man/ and completions/ into' -r -F
complete -c forge -n "__fish_forge_using_subcommand generate" -s C -d 'Run as if forge was started in DIR' -r -F
complete -c forge -n "__fish_forge_using_subcommand generate" -l color -d 'When to colour output (NO_COLOR turns `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c forge -n "__fish_forge_using_subcommand generate" -l json -d 'Print the report as JSON on stdout'
complete -c forge -n "__fish_forge_using_subcommand generate" -s q -l quiet -d 'Print only the report, no status lines'
complete -c forge -n "__fish_forge_using_subcommand generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c forge -n "__fish_forge_using_subcommand generate" -s V -l version -d 'Print version'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "init" -d 'Create .forge/ and the runtime directory (idempotent)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "bead" -d 'Create, list, show and change beads (work items)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "ready" -d 'List beads that are ready to work on, most urgent first'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "blocked" -d 'List open beads that are not ready, each with what blocks it'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "show" -d 'Show a bead (shortcut for `forge bead show`)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "step" -d 'Run one bead through a harness on its own worktree branch'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "steps" -d 'List steps and their states'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "log" -d 'Show what a step\'s harness said and did'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "status" -d 'Summarise what needs attention: ready, running, waiting for approval, failed'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "watch" -d 'Watch what forge is doing here, live, on a full screen'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "gc" -d 'Remove worktrees and branches of finished steps, keeping their state in refs/forge/attic/'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "approve" -d 'Approve a step and merge it into its base branch'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "reject" -d 'Reject a waiting step: keep its work in the attic, reopen the bead with the reason'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "revise" -d 'Send feedback on a step to its harness, commit the changes, rerun the gates'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "rollback" -d 'Undo a step: revert a merged one, discard a pending one; the bead reopens'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "queue" -d 'List and reorder the merge queue (`[policy] merge = "queue"`)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "plan" -d 'Turn a goal into a reviewed graph of beads'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "tick" -d 'Do one round of unattended work (for cron)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "pause" -d 'Stop `forge tick` from starting new work until `forge resume`'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "resume" -d 'Let `forge tick` work again (also resets the circuit breaker)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "cron" -d 'Run `forge tick` from cron'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "assume" -d 'Record an assumption: something guessed that someone should check'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "assumptions" -d 'List assumptions'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "assumption" -d 'Settle assumptions'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "ledger" -d 'Read, check and review the append-only run ledger'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "cost" -d 'Sum the tokens and money harness runs spent, from the ledger'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "hooks" -d 'Install, remove or inspect forge\'s git hooks (pre-commit, post-commit)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "doctor" -d 'Check that this repository is in shape for forge, and say how to fix what is not'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "resolve" -d 'Repair .forge/ files that a merge left with git conflict markers'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "import" -d 'Import work items from another tracker'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "hook" -d 'Run forge\'s part of a git hook'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "merge-driver" -d 'Merge three versions of a .forge/ file field by field (git merge driver)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "generate" -d 'Write man pages and shell completions (for packagers and the repository\'s own copies)'
complete -c forge -n "__fish_forge_using_subcommand help; and not __fish_seen_subcommand_from init bead ready blocked show step steps log status watch gc approve reject revise rollback queue plan tick pause resume cron assume assumptions assumption ledger cost hooks doctor resolve import hook merge-driver generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from bead" -f -a "create" -d 'Create a bead (with -q, print only its id)'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from bead" -f -a "list" -d 'List beads (open and deferred by default), sorted by priority then id'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from bead" -f -a "show" -d 'Show one bead in full (an epic with its children and what it waits for)'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from bead" -f -a "update" -d 'Change fields of a bead'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from bead" -f -a "close" -d 'Close a bead'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from bead" -f -a "reopen" -d 'Reopen a closed or deferred bead'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from bead" -f -a "defer" -d 'Defer a bead: keep it, but out of the ready queue (its children too)'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from bead" -f -a "dep" -d 'Add or remove dependencies'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from queue" -f -a "move" -d 'Move a step to another place in the queue'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from queue" -f -a "remove" -d 'Take a step out of the queue; it waits for approval again'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from queue" -f -a "run" -d 'Run the queue now (as `forge approve` and `forge tick` do)'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "install" -d 'Add (or update) this repository\'s entry in your crontab'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "uninstall" -d 'Remove this repository\'s entry from your crontab'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from cron" -f -a "show" -d 'Print the entry `install` would add, and whether it is installed'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from assumption" -f -a "resolve" -d 'Mark an assumption validated or invalidated (invalidating flags its bead for review)'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "show" -d 'List ledger events, oldest first'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "render" -d 'Review what the ledger gained in a range of commits, for a pull request'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "verify" -d 'Check every hash chain in the ledger, and with --range its history and approvals'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "install" -d 'Add forge\'s block to the pre-commit and post-commit hooks; register the merge driver'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "uninstall" -d 'Remove forge\'s block from the hooks (and hook files forge created)'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "status" -d 'Show whether forge\'s hooks and merge driver are installed'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "beads" -d 'Import an issues.jsonl written by beads (bd) or beads_rust (br), all or nothing'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from hook" -f -a "pre-commit" -d 'Check the staged .forge/ files; exit 7 to refuse the commit'
complete -c forge -n "__fish_forge_using_subcommand help; and __fish_seen_subcommand_from hook" -f -a "post-commit" -d 'Link and close beads named in the new commit\'s trailers; never fails'
