#!/usr/bin/env bash
# test_cli.sh - the command line: help, version, unknown commands and options, exit codes.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
: "${PGWARD:?PGWARD must point at the binary}"

out=$("$PGWARD" --version) || tk_fail "--version failed"
tk_assert_contains "$out" "pgward 0." "--version"

out=$("$PGWARD" help) || tk_fail "help failed"
for c in keygen encrypt decrypt audit help; do tk_assert_contains "$out" "$c" "help lists $c"; done

for c in keygen encrypt decrypt audit; do
  a=$("$PGWARD" help "$c") || tk_fail "help $c failed"
  b=$("$PGWARD" "$c" --help) || tk_fail "$c --help failed"
  tk_assert_eq "$a" "$b" "help $c equals $c --help"
  tk_assert_contains "$a" "Usage: pgward $c" "usage line of $c"
  tk_assert_contains "$a" "Exit status:" "exit codes of $c"
done

# unknown command: one error line, then the hint; exit 2
set +e
err=$("$PGWARD" frobnicate 2>&1 >/dev/null); rc=$?
set -e
tk_assert_eq "$rc" 2 "unknown command exit code"
tk_assert_eq "$(printf '%s\n' "$err" | head -1)" 'pgward: error: unknown command "frobnicate"' "unknown command message"
tk_assert_eq "$(printf '%s\n' "$err" | sed -n 2p)" 'HINT: Try "pgward help".' "unknown command hint"
tk_assert_eq "$(printf '%s\n' "$err" | wc -l)" 2 "two lines only"

set +e
err=$("$PGWARD" encrypt --frob 2>&1 >/dev/null); rc=$?
set -e
tk_assert_eq "$rc" 2 "unknown option exit code"
tk_assert_contains "$err" 'unknown option "--frob" for "encrypt"' "unknown option message"
tk_assert_contains "$err" 'Try "pgward help encrypt".' "unknown option hint"

# an option of another command is unknown here
expect_fail 2 'unknown option "-r" for "decrypt"' decrypt -r age1xyz

# a secret on the command line is refused (exit 5) and not echoed
set +e
err=$("$PGWARD" keygen --key-passphrase=hunter2hunter2 2>&1 >/dev/null); rc=$?
set -e
tk_assert_eq "$rc" 5 "secret on the command line"
tk_assert_contains "$err" "PGWARD_KEY_PASSPHRASE" "secret hint names the variable"
case "$err" in *hunter2hunter2*) tk_fail "secret echoed in the error";; esac

# too many arguments
expect_fail 2 'wrong number of arguments for "encrypt"' encrypt a b

out=$("$PGWARD" help exit-codes)
tk_assert_contains "$out" "AGE_PAYLOAD" "exit code table"
out=$("$PGWARD" help config)
tk_assert_contains "$out" "PGWARD_LOG_LEVEL" "config reference lists env vars"
tk_assert_contains "$out" "key-passphrase (secret)" "config reference marks secrets"
out=$("$PGWARD" help man)
tk_assert_contains "$out" ".TH PGWARD 1" "man page header"

# no arguments: overview on stderr, exit 2
set +e
err=$("$PGWARD" 2>&1 >/dev/null); rc=$?
set -e
tk_assert_eq "$rc" 2 "no arguments"
tk_assert_contains "$err" "Usage: pgward COMMAND" "no arguments: the overview on stderr"
# markdown is check's format only
expect_fail 2 'only for "pgward check"' list --repo "$TK_TMP/none" --output=markdown

# help keygen describes -p as what it does for keygen (protect the identity file)
out=$("$PGWARD" help keygen)
tk_assert_contains "$out" "protect the new identity file with a passphrase" "keygen -p help"
case "$out" in *"instead of public keys"*) tk_fail "keygen -p described as encrypt's";; esac
# audited commands say so in their help; audit (reading the log) is not audited
tk_assert_contains "$out" "appends one record to the audit log" "keygen is audited"
case "$("$PGWARD" help list)" in *"appends one record"*) tk_fail "list claims to be audited";; esac

# audit verify --expect-head: the whole hash or a prefix of 8+ hex digits (any case)
"$PGWARD" keygen -o "$TK_TMP/k1" 2>/dev/null
head1=$("$PGWARD" audit verify | sed -n 's/^head: //p')
err=$("$PGWARD" audit verify --expect-head "${head1:0:8}" 2>&1 >/dev/null) || tk_fail "expect-head prefix"
tk_assert_contains "$err" "note 16 digits or more" "a short prefix is warned about"
err=$("$PGWARD" audit verify --expect-head "${head1:0:16}" 2>&1 >/dev/null) || tk_fail "expect-head 16-digit prefix"
tk_assert_eq "$err" "" "no warning for 16 digits"
"$PGWARD" audit verify --expect-head "${head1^^}" >/dev/null || tk_fail "expect-head upper case"
expect_fail 3 "8 to 64 hex digits" audit verify --expect-head "${head1:0:7}"
expect_fail 3 "8 to 64 hex digits" audit verify --expect-head "${head1:0:8}..."
expect_fail 3 "8 to 64 hex digits" audit verify --expect-head "${head1}0"
"$PGWARD" keygen -o "$TK_TMP/k2" 2>/dev/null
# the log grew: the old head is named as an older record, not as a truncation
expect_fail 18 "is record 1 of 2" audit verify --expect-head "${head1:0:12}"
# a hash no record has: removed from the end or replaced
expect_fail 18 "no record of the log has that hash" audit verify --expect-head 0123456789abcdef

# decrypt -o - writes to standard output, as age does (never a file named "-")
cd "$TK_TMP"
echo "plain text" > p.txt
"$PGWARD" encrypt -r "$("$PGWARD" keygen -y k1)" -o p.age p.txt
out=$("$PGWARD" decrypt -i k1 -o - p.age) || tk_fail "decrypt -o -"
tk_assert_eq "$out" "plain text" "decrypt -o - writes to standard output"
[[ -e ./- ]] && tk_fail "decrypt -o - created a file named -"
# restore without an identity: refused before the repository is opened, both kinds
expect_fail 10 'restoring needs an identity' restore shop --repo "$TK_TMP/none" --to-file "$TK_TMP/x.dump"
expect_fail 10 'restoring needs an identity' restore shop --type=physical --target-dir "$TK_TMP/pd" --repo "$TK_TMP/none"
[[ ! -e "$TK_TMP/none" && ! -e "$TK_TMP/pd" ]] || tk_fail "a refused restore created a directory"
# a mistyped local repository is an error for the commands that only read or maintain one,
# never an empty repository created on the way
for c in list verify expire; do
  expect_fail 9 "does not exist" $c shop --repo "$TK_TMP/typo/repo"
done
expect_fail 9 "does not exist" wal-list shop --repo "$TK_TMP/typo/repo"
[[ ! -e "$TK_TMP/typo" ]] || tk_fail "a read-only command created the repository directory"
echo "cli: all checks passed"
