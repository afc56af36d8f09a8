#!/usr/bin/env bash
# test_crypt.sh - keygen / encrypt / decrypt through the real binary: round trips, key
# files, passphrases, armor, and every failure path (exit code, message, nothing left).
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"

# keygen: mode 0600, public key on stderr, never overwrites
pub=$("$PGWARD" keygen -o a.key 2>&1 >/dev/null)
tk_assert_eq "$(stat -c %a a.key)" 600 "identity file mode"
RA=$("$PGWARD" keygen -y a.key)
tk_assert_eq "$pub" "Public key: $RA" "public key printed on stderr"
grep -q "^# public key: $RA$" a.key || tk_fail "identity file lacks its public key comment"
before=$(sha256sum a.key)
expect_fail 6 'output file "a.key" already exists' keygen -o a.key
tk_assert_eq "$(sha256sum a.key)" "$before" "existing identity untouched"
"$PGWARD" keygen -o b.key 2>/dev/null
RB=$("$PGWARD" keygen -y b.key)
"$PGWARD" keygen -o c.key 2>/dev/null

# round trips of awkward sizes, two recipients, binary and armored
for size in 0 1 65535 65536 65537 200000 1048577; do
  head -c "$size" /dev/urandom > p.bin
  "$PGWARD" encrypt -r "$RA" -r "$RB" -o c.age p.bin
  "$PGWARD" decrypt -i a.key -o out.bin c.age
  cmp -s p.bin out.bin || tk_fail "round trip of $size bytes (identity a)"
  "$PGWARD" decrypt -i b.key < c.age | cmp -s p.bin - || tk_fail "round trip of $size bytes (identity b)"
  "$PGWARD" encrypt -a -r "$RA" < p.bin > c.asc
  head -1 c.asc | grep -qx -- "-----BEGIN AGE ENCRYPTED FILE-----" || tk_fail "armor header"
  "$PGWARD" decrypt -i a.key c.asc | cmp -s p.bin - || tk_fail "armored round trip of $size bytes"
done
tk_assert_eq "$(stat -c %a out.bin)" 600 "decrypted output file mode"

# -o to an existing FIFO (or device) is refused, never opened (issue 17: whoever planted it
# reads the plaintext); -o - is standard output, for a pipe
mkfifo out.fifo
expect_fail 5 "is not a regular file" encrypt -r "$RA" -o out.fifo p.bin
[ -p out.fifo ] || tk_fail "-o replaced a FIFO with a regular file"
"$PGWARD" encrypt -r "$RA" -o - p.bin > fifo.got
[ -s fifo.got ] || tk_fail "nothing written to standard output with -o -"

# recipients file with comments and blank lines; several identity files
printf '# team keys\n\n%s\n# second\n%s\n' "$RA" "$RB" > team.txt
echo "for the team" | "$PGWARD" encrypt -R team.txt > t.age
tk_assert_eq "$("$PGWARD" decrypt -i c.key -i b.key t.age)" "for the team" "-R file and several -i"

# passphrase: from the environment and from a private file
echo "secret words" > s.txt
PGWARD_KEY_PASSPHRASE='correct horse' "$PGWARD" encrypt -p --work-factor=12 -o s.age s.txt
grep -q "^-> scrypt " s.age || tk_fail "scrypt stanza missing"
printf 'correct horse\n' > pass.txt; chmod 600 pass.txt
tk_assert_eq "$("$PGWARD" decrypt --passphrase-file pass.txt s.age)" "secret words" "passphrase file"
chmod 644 pass.txt
expect_fail 5 'passphrase file "pass.txt" is accessible by other users' decrypt --passphrase-file pass.txt s.age
PGWARD_KEY_PASSPHRASE='wrong horse' expect_fail 12 "no identity matched" decrypt s.age
expect_fail 12 "no identity was given" decrypt t.age
PGWARD_KEY_PASSPHRASE='correct horse' expect_fail 11 "work factor 12 exceeds the limit of 11" decrypt --max-work-factor=11 s.age
expect_fail 16 "no terminal" encrypt -p -o n.age s.txt < /dev/null

# passphrase-protected identity file (like age-keygen | age -p)
PGWARD_KEY_PASSPHRASE='idpass' "$PGWARD" keygen --passphrase --work-factor=12 -o p.key 2>/dev/null
head -c 21 p.key | grep -q "age-encryption.org/v1" || tk_fail "protected identity is not an age file"
RP=$(PGWARD_KEY_PASSPHRASE='idpass' "$PGWARD" keygen -y p.key)
echo "to p" | "$PGWARD" encrypt -r "$RP" > pp.age
tk_assert_eq "$(PGWARD_KEY_PASSPHRASE='idpass' "$PGWARD" decrypt -i p.key pp.age)" "to p" "protected identity"
PGWARD_KEY_PASSPHRASE='nope' expect_fail 16 'wrong passphrase for identity file "p.key"' decrypt -i p.key pp.age

# failures: wrong identity, truncation, tampering, armor damage — and no output file left
head -c 300000 /dev/urandom > big.bin
"$PGWARD" encrypt -r "$RA" -o big.age big.bin
expect_fail 12 "no identity matched" decrypt -i c.key -o never.bin big.age
head -c 200000 big.age > trunc.age
expect_fail 14 "payload failure" decrypt -i a.key -o never.bin trunc.age
cp big.age flip.age; tk_flip_byte flip.age 250000
expect_fail 14 "does not authenticate" decrypt -i a.key -o never.bin flip.age
# a byte of the header's recipient stanza body (line 3) changed: no match; the MAC line: MAC failure
off=$(head -2 big.age | wc -c)
c=$(dd if=big.age bs=1 skip="$off" count=1 2>/dev/null)
cp big.age hdr.age
if [ "$c" = A ]; then r=B; else r=A; fi
printf '%s' "$r" | dd of=hdr.age bs=1 seek="$off" conv=notrunc 2>/dev/null
# (the first character of the base64 body: any letter decodes, to a key that unwraps nothing)
expect_fail 12 "no identity matched" decrypt -i a.key -o never.bin hdr.age
# the MAC line: a different valid MAC is a MAC failure
off=$(head -3 big.age | wc -c); off=$((off + 4))
c=$(dd if=big.age bs=1 skip="$off" count=1 2>/dev/null)
cp big.age mac.age
if [ "$c" = A ]; then r=B; else r=A; fi
printf '%s' "$r" | dd of=mac.age bs=1 seek="$off" conv=notrunc 2>/dev/null
expect_fail 13 "header MAC mismatch" decrypt -i a.key -o never.bin mac.age
tk_assert_eq "$(ls never.bin 2>/dev/null || true)" "" "no output left after failures"
ls -a | grep -q "never.bin.tmp" && tk_fail "temporary output left behind"
printf 'not an age file at all\n' > junk.txt
expect_fail 11 "not an age-encrypted file" decrypt -i a.key junk.txt
"$PGWARD" encrypt -a -r "$RA" -o arm.asc big.bin
sed '5s/^./!/' arm.asc > armbad.asc
expect_fail 15 "ASCII armor" decrypt -i a.key -o never.bin armbad.asc

# bad inputs
expect_fail 2 "no recipients" encrypt -o x.age big.bin
expect_fail 10 'malformed recipient "age1nope"' encrypt -r age1nope -o x.age big.bin
expect_fail 10 "SSH recipients are not supported" encrypt -r "ssh-ed25519 AAAA" -o x.age big.bin
expect_fail 9 'could not open input file "missing.bin"' encrypt -r "$RA" -o x.age missing.bin
expect_fail 9 "could not open" decrypt -i missing.key big.age
expect_fail 2 "-p cannot be combined with -r" encrypt -p -r "$RA" big.bin
chmod 644 a.key
expect_fail 5 'identity file "a.key" is accessible by other users' decrypt -i a.key big.age
chmod 600 a.key
tk_assert_eq "$(ls x.age 2>/dev/null || true)" "" "no output after bad input"

# binary output to a terminal is refused; armored output is fine
set +e
script -qec "$PGWARD encrypt -r $RA $TK_TMP/big.bin" /dev/null > tty.out 2>&1; rc=$?
set -e
tk_assert_eq "$rc" 5 "tty refusal: exit code"
tk_assert_contains "$(cat tty.out)" "refusing to write encrypted binary data to a terminal" "tty refusal"
tk_assert_contains "$(cat tty.out)" "HINT:" "tty refusal: hint"
script -qec "$PGWARD encrypt -a -r $RA $TK_TMP/s.txt" /dev/null > tty2.out 2>&1 || tk_fail "armored output to a terminal"
grep -q "BEGIN AGE ENCRYPTED FILE" tty2.out || tk_fail "armored output missing"

# an interrupted encryption leaves no output file
mkfifo slow.fifo
( head -c 100000 /dev/urandom; sleep 5 ) > slow.fifo &
writer=$!
"$PGWARD" encrypt -r "$RA" -o killed.age slow.fifo &
enc=$!
tmp_made() { compgen -G '.killed.age.tmp-*' >/dev/null; }
tk_wait_for 10 "the encryption's temporary file" tmp_made
kill -TERM "$enc"; wait "$enc" 2>/dev/null || true
kill "$writer" 2>/dev/null || true; wait "$writer" 2>/dev/null || true
tk_assert_eq "$(ls -a | grep killed || true)" "" "killed encryption left no output, not even a temporary file"

# secrets never reach the audit log
grep -q "correct horse\|idpass\|AGE-SECRET-KEY" "$PGWARD_AUDIT_LOG" && tk_fail "secret in the audit log"
"$PGWARD" audit verify >/dev/null || tk_fail "audit chain broken"
echo "crypt: all checks passed"
