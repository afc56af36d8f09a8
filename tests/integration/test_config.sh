#!/usr/bin/env bash
# test_config.sh - the config file through the real binary: errors with file and line,
# secret-holding files must be private, precedence of environment and arguments.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
"$PGWARD" keygen -o id.txt 2>/dev/null
R=$("$PGWARD" keygen -y id.txt)
echo data > in.txt

printf '[global]\nlog-level = info\nbogus = 1\n' > bad.conf
expect_fail 3 'unknown option "bogus" in "bad.conf" line 3' encrypt --config bad.conf -r "$R" in.txt
printf '[global]\n[global]\n' > dup.conf
expect_fail 3 "duplicate section [global]" encrypt --config dup.conf -r "$R" in.txt
printf '[global]\nwork-factor = lots\n' > val.conf
expect_fail 3 'invalid value "lots" for option "work-factor"' encrypt --config val.conf -r "$R" in.txt
printf '[global]\nkey-passphrase = topsecret123\n' > secret.conf
chmod 644 secret.conf
expect_fail 5 "holds secrets but is accessible by other users" encrypt --config secret.conf -p -o x.age in.txt
tk_assert_eq "$(ls x.age 2>/dev/null || true)" "" "nothing written on a config error"
chmod 600 secret.conf
"$PGWARD" encrypt --config secret.conf -p -o x.age in.txt
out=$("$PGWARD" decrypt --config secret.conf x.age)
tk_assert_eq "$out" "data" "passphrase from a private config file"
expect_fail 3 "could not open configuration file" encrypt --config nope.conf -r "$R" in.txt
PGWARD_CONFIG=bad.conf expect_fail 3 "line 3" encrypt -r "$R" in.txt

# environment beats file, argument beats environment
printf '[global]\nwork-factor = 99\n' > wf.conf
expect_fail 3 "work-factor must be between 10 and 22, not 99 (wf.conf line 2 [global])" encrypt --config wf.conf -p -o y.age in.txt
PGWARD_WORK_FACTOR=10 PGWARD_KEY_PASSPHRASE=pw1234567 "$PGWARD" encrypt --config wf.conf -p -o y.age in.txt
grep -q "scrypt .* 10$" <(head -2 y.age) || tk_fail "environment did not override the file"
PGWARD_WORK_FACTOR=99 PGWARD_KEY_PASSPHRASE=pw1234567 "$PGWARD" encrypt --config wf.conf --work-factor=11 -p -o y.age in.txt
grep -q "scrypt .* 11$" <(head -2 y.age) || tk_fail "argument did not override the environment"
PGWARD_LOG_LEVEL=loud expect_fail 3 'environment variable PGWARD_LOG_LEVEL' encrypt -r "$R" in.txt
echo "config: all checks passed"
