#!/usr/bin/env bash
# test_age_interop.sh - both directions against Debian's stock age / age-keygen CLI:
# X25519 (several recipients), passphrase, armor, identities from either tool.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
cd "$TK_TMP"
command -v age >/dev/null && command -v age-keygen >/dev/null || tk_skip "age CLI not installed"

# age-like passphrase entry on a terminal (age reads /dev/tty only)
age_tty() { # passphrase, age args...
  local pw=$1; shift
  (sleep 0.3; printf '%s\n' "$pw"; sleep 0.3; printf '%s\n' "$pw"; sleep 0.3) |
    script -qfec "age $*" /dev/null >/dev/null
}

head -c 3000000 /dev/urandom > p.bin
printf 'hello, age\n' > small.txt

# identities: each tool's works with the other
age-keygen -o age.key 2>/dev/null
"$PGWARD" keygen -o pw.key 2>/dev/null
RAGE=$(age-keygen -y age.key)
RPW=$("$PGWARD" keygen -y pw.key)
tk_assert_eq "$("$PGWARD" keygen -y age.key)" "$RAGE" "pgward reads age-keygen identities"
tk_assert_eq "$(age-keygen -y pw.key)" "$RPW" "age-keygen reads pgward identities"

# pgward -> age: two recipients, binary and armored
"$PGWARD" encrypt -r "$RAGE" -r "$RPW" -o p.age p.bin
age -d -i age.key p.age | cmp -s - p.bin || tk_fail "age cannot decrypt pgward's file (age key)"
age -d -i pw.key p.age | cmp -s - p.bin || tk_fail "age cannot decrypt pgward's file (pgward key)"
"$PGWARD" encrypt -a -r "$RAGE" -o p.asc p.bin
age -d -i age.key p.asc | cmp -s - p.bin || tk_fail "age cannot decrypt pgward's armored file"
for size in 0 65536 131072; do
  head -c "$size" /dev/urandom > e.bin
  "$PGWARD" encrypt -r "$RAGE" -o e.age e.bin
  age -d -i age.key e.age | cmp -s - e.bin || tk_fail "age cannot decrypt $size bytes"
done

# age -> pgward: several recipients, armored
age -r "$RAGE" -r "$RPW" -o a.age p.bin
"$PGWARD" decrypt -i pw.key a.age | cmp -s - p.bin || tk_fail "pgward cannot decrypt age's file"
"$PGWARD" decrypt -i age.key a.age | cmp -s - p.bin || tk_fail "pgward + age-keygen identity"
age -a -r "$RPW" -o a.asc p.bin
"$PGWARD" decrypt -i pw.key a.asc | cmp -s - p.bin || tk_fail "pgward cannot decrypt age's armored file"
printf '%s\n%s\n' "$RAGE" "$RPW" > rcpts.txt
age -R rcpts.txt -o r.age small.txt
tk_assert_eq "$("$PGWARD" decrypt -i pw.key r.age)" "hello, age" "age -R"

# passphrases both ways (work factor 18, as age uses)
PGWARD_KEY_PASSPHRASE='tr0ub4dor&3' "$PGWARD" encrypt -p -o s.age small.txt
age_tty 'tr0ub4dor&3' -d -o s.out s.age
tk_assert_eq "$(cat s.out)" "hello, age" "age decrypts pgward's passphrase file"
age_tty 'tr0ub4dor&3' -p -o s2.age small.txt
tk_assert_eq "$(PGWARD_KEY_PASSPHRASE='tr0ub4dor&3' "$PGWARD" decrypt s2.age)" "hello, age" "pgward decrypts age's passphrase file"

# passphrase-protected identity files both ways
age-keygen 2>/dev/null > plain.key
age_tty 'keypass' -p -o prot.key plain.key
RPROT=$(age-keygen -y plain.key)
"$PGWARD" encrypt -r "$RPROT" -o pr.age small.txt
tk_assert_eq "$(PGWARD_KEY_PASSPHRASE=keypass "$PGWARD" decrypt -i prot.key pr.age)" "hello, age" "age -p protected identity in pgward"
PGWARD_KEY_PASSPHRASE=keypass "$PGWARD" keygen --passphrase -o pwprot.key 2>/dev/null
age_tty 'keypass' -d -o pwprot.plain pwprot.key
RPP=$(age-keygen -y pwprot.plain)
tk_assert_eq "$(PGWARD_KEY_PASSPHRASE=keypass "$PGWARD" keygen -y pwprot.key)" "$RPP" "pgward-protected identity opens with age"
echo "age interop: all checks passed"
