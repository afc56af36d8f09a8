#!/usr/bin/env bash
# bench.sh - `make bench`: pgward encrypt/decrypt throughput and peak memory, side by side
# with the stock age CLI, in one run, alternating the commands (A B A B ...), as
# docs' quality targets require (P6: throughput >= 1.5x age; P7 spirit: memory flat in size).
#
# Environment:
#   BENCH_SIZE_MB    size of the main input file in MiB (default 1024)
#   BENCH_SMALL_MB   size of the small file for the memory-flatness check (default 64)
#   BENCH_ROUNDS     rounds of each alternation (default 3)
#   BENCH_DIR        parent directory for the scratch dir (default: /var/tmp, else build/;
#                    never tmpfs)
#   BENCH_BASELINE   1 (default) also times `cp in out` in the encrypt alternation, as the
#                    file-write floor; 0 to skip
#   PGWARD, AGE      binaries to compare (default build/src/pgward and age from PATH)
#
# Exit status: 0 when every command succeeded and every output matched (even if a target is
# missed: this is a benchmark, not a test); 1 on a failed command or mismatched output;
# 2 on a missing tool that cannot be installed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
PGWARD=${PGWARD:-$here/build/src/pgward}
AGE=${AGE:-age}
SIZE_MB=${BENCH_SIZE_MB:-1024}
SMALL_MB=${BENCH_SMALL_MB:-64}
ROUNDS=${BENCH_ROUNDS:-3}
BASELINE=${BENCH_BASELINE:-1}
RESULTS_DIR=$here/bench/results
P6_TARGET=1.5
P7_RSS_MIB=64
t_start=$EPOCHREALTIME

die() { printf 'bench: %s\n' "$1" >&2; exit "${2:-1}"; }
for v in SIZE_MB SMALL_MB ROUNDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_${v} must be a positive integer (got '${!v}')" 2
done

export BENCH_NAME=bench
# shellcheck source=lib.sh
source "$here/bench/lib.sh" # need, pick_dir, bench_facts
need /usr/bin/time time
need "$AGE" age
need cmp diffutils
need findmnt util-linux
need openssl openssl
[ -x "$PGWARD" ] || die "no pgward binary at $PGWARD (run 'make build')" 2

# --- scratch dir on a real disk ------------------------------------------------------------
need_mb=$((SIZE_MB * 5 + SMALL_MB * 5 + 256))
parent=$(pick_dir "$need_mb") || die "no writable non-tmpfs directory with ${need_mb} MiB free (set BENCH_DIR)" 2
WORK=$(mktemp -d "$parent/pgward-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
# Keep pgward's audit log and state out of the user's home.
export HOME=$WORK XDG_STATE_HOME=$WORK/state PGWARD_AUDIT_LOG=$WORK/audit.log

# --- machine facts -------------------------------------------------------------------------
bench_facts
age_version=$("$AGE" --version 2>&1 | head -n1)

echo "pgward bench: encrypt/decrypt throughput and peak memory vs the age CLI"
echo "  reproduce: make bench   (env: BENCH_SIZE_MB=$SIZE_MB BENCH_SMALL_MB=$SMALL_MB BENCH_ROUNDS=$ROUNDS BENCH_DIR= BENCH_BASELINE=$BASELINE)"
echo "  cpu:       $cpu, nproc $ncpu, RAM $mem_mib MiB, kernel $kernel"
echo "  pgward:    $pw_version ($PGWARD, commit $commit$dirty)"
echo "  age:       $age_version ($(command -v "$AGE"))"
echo "  scratch:   $WORK ($fstype)"
echo "  method:    $ROUNDS rounds, commands alternated within each round; input warm in page"
echo "             cache (read before each run), dirty pages flushed (sync) before each run;"
echo "             wall = median over rounds; max RSS = max over rounds (/usr/bin/time %M)"
echo

# --- inputs and key ------------------------------------------------------------------------
make_input() { # make_input FILE MIB: incompressible, fast, deterministic
  local f=$1 bytes=$(($2 * 1048576))
  if ! head -c "$bytes" /dev/zero |
    openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
      -iv 00000000000000000000000000000000 >"$f" 2>/dev/null ||
    [ "$(stat -c %s "$f")" -ne "$bytes" ]; then
    head -c "$bytes" /dev/urandom >"$f"
  fi
}
printf 'generating %d MiB and %d MiB inputs ... ' "$SIZE_MB" "$SMALL_MB"
make_input "$WORK/in" "$SIZE_MB"
make_input "$WORK/small" "$SMALL_MB"
echo "done"
"$PGWARD" keygen -o "$WORK/key" 2>/dev/null || die "pgward keygen failed"
R=$("$PGWARD" keygen -y "$WORK/key") || die "pgward keygen -y failed"
[[ $R == age1* ]] || die "unexpected recipient '$R'"

# --- timing --------------------------------------------------------------------------------
# Samples: S_wall[name] S_rss[name] S_user[name] S_sys[name] hold space-separated values.
declare -A S_wall S_rss S_user S_sys
timed() { # timed NAME INFILE OUTFILE CMD... : one measured run, output removed first
  local name=$1 input=$2 out=$3
  shift 3
  rm -f "$out"
  cat "$input" >/dev/null # warm the input into page cache
  sync                    # do not let one tool pay for the other's writeback
  local t0=$EPOCHREALTIME t1
  if ! /usr/bin/time -f '%e %M %U %S' -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/err"; then
    echo >&2
    echo "bench: FAILED: $*" >&2
    sed 's/^/  /' "$WORK/err" >&2
    exit 1
  fi
  t1=$EPOCHREALTIME
  local m u s
  read -r _ m u s <"$WORK/time.out"
  # wall in ms resolution (time's %e has 10 ms); includes only time's own fork/exec
  S_wall[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') "
  S_rss[$name]+="$m "
  S_user[$name]+="$u "
  S_sys[$name]+="$s "
}
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { tr ' ' '\n' | awk 'NF' | sort -g | tail -n1; }

check_same() { # check_same A B WHAT
  cmp -s "$1" "$2" || { echo >&2; die "MISMATCH: $3 ($1 vs $2)"; }
}

run_set() { # run_set TAG INPUT : ROUNDS alternating rounds of encrypt, then decrypt
  local tag=$1 in=$2 r
  local pe=$WORK/$tag.pw.age ae=$WORK/$tag.age.age pd=$WORK/$tag.pw.dec ad=$WORK/$tag.age.dec
  for ((r = 1; r <= ROUNDS; r++)); do
    printf ' %d' "$r"
    timed "$tag.pgward.encrypt" "$in" "$pe" "$PGWARD" encrypt -r "$R" -o "$pe" "$in"
    timed "$tag.age.encrypt" "$in" "$ae" "$AGE" -r "$R" -o "$ae" "$in"
    if [ "$tag" = big ]; then
      # like for like: both to a plain file without fsync, and both durable (fsynced)
      timed "$tag.pgward.encrypt-nosync" "$in" "$pe" sh -c '"$1" encrypt -r "$2" "$3" > "$4"' sh "$PGWARD" "$R" "$in" "$pe"
      timed "$tag.age.encrypt-fsync" "$in" "$ae" sh -c '"$1" -r "$2" -o "$4" "$3" && sync "$4"' sh "$AGE" "$R" "$in" "$ae"
    fi
    if [ "$BASELINE" = 1 ] && [ "$tag" = big ]; then
      timed "$tag.cp.copy" "$in" "$WORK/$tag.cp" cp "$in" "$WORK/$tag.cp"
      rm -f "$WORK/$tag.cp"
    fi
    timed "$tag.pgward.decrypt" "$pe" "$pd" "$PGWARD" decrypt -i "$WORK/key" -o "$pd" "$pe"
    timed "$tag.age.decrypt" "$ae" "$ad" "$AGE" -d -i "$WORK/key" -o "$ad" "$ae"
    if [ "$tag" = big ]; then
      timed "$tag.pgward.decrypt-nosync" "$pe" "$pd" sh -c '"$1" decrypt -i "$2" "$3" > "$4"' sh "$PGWARD" "$WORK/key" "$pe" "$pd"
      timed "$tag.age.decrypt-fsync" "$ae" "$ad" sh -c '"$1" -d -i "$2" -o "$4" "$3" && sync "$4"' sh "$AGE" "$WORK/key" "$ae" "$ad"
    fi
    if [ "$r" -eq 1 ]; then # correctness, once per set, outside the timings
      check_same "$in" "$pd" "pgward decrypt of pgward's output"
      check_same "$in" "$ad" "age -d of age's output"
      "$AGE" -d -i "$WORK/key" -o "$WORK/x.dec" "$pe" 2>"$WORK/err" ||
        { cat "$WORK/err" >&2; die "age -d cannot decrypt pgward's output"; }
      check_same "$in" "$WORK/x.dec" "age -d of pgward's output"
      rm -f "$WORK/x.dec"
      "$PGWARD" decrypt -i "$WORK/key" -o "$WORK/x.dec" "$ae" 2>"$WORK/err" ||
        { cat "$WORK/err" >&2; die "pgward decrypt cannot decrypt age's output"; }
      check_same "$in" "$WORK/x.dec" "pgward decrypt of age's output"
      rm -f "$WORK/x.dec"
    fi
  done
  rm -f "$pe" "$ae" "$pd" "$ad"
}

printf 'running %d MiB, %d rounds:' "$SIZE_MB" "$ROUNDS"
run_set big "$WORK/in"
echo " ok"
printf 'running %d MiB (memory flatness), %d rounds:' "$SMALL_MB" "$ROUNDS"
run_set small "$WORK/small"
echo " ok (outputs cross-checked: pgward<->age, both directions)"
echo

# --- report --------------------------------------------------------------------------------
mibs() { awk -v mb="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", mb / s; else print "inf" }'; }
kib2mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
declare -A MED MBS RSS USR SYS
summarize() { # summarize NAME MIB
  local n=$1
  MED[$n]=$(median <<<"${S_wall[$n]}")
  MBS[$n]=$(mibs "$2" "${MED[$n]}")
  RSS[$n]=$(maxof <<<"${S_rss[$n]}")
  USR[$n]=$(median <<<"${S_user[$n]}")
  SYS[$n]=$(median <<<"${S_sys[$n]}")
}
rows=(big.pgward.encrypt big.age.encrypt big.pgward.decrypt big.age.decrypt
  big.pgward.encrypt-nosync big.age.encrypt-fsync big.pgward.decrypt-nosync big.age.decrypt-fsync)
[ "$BASELINE" = 1 ] && rows+=(big.cp.copy)
for n in "${rows[@]}"; do summarize "$n" "$SIZE_MB"; done
for n in small.pgward.encrypt small.age.encrypt small.pgward.decrypt small.age.decrypt; do
  summarize "$n" "$SMALL_MB"
done

echo "== throughput, $SIZE_MB MiB file (MiB of plaintext per second; median of $ROUNDS)"
printf '%-8s %-16s %9s %9s %9s %9s %11s  %s\n' tool operation "wall s" "MiB/s" "user s" "sys s" "maxRSS MiB" "all wall s"
for n in "${rows[@]}"; do
  IFS=. read -r _ tool op <<<"$n"
  printf '%-8s %-16s %9s %9s %9s %9s %11s  %s\n' "$tool" "$op" "${MED[$n]}" "${MBS[$n]}" \
    "${USR[$n]}" "${SYS[$n]}" "$(kib2mib "${RSS[$n]}")" "${S_wall[$n]% }"
done
[ "$BASELINE" = 1 ] && echo "(cp = plain file copy of the same input: the file-write floor on this disk)"
echo "(pgward -o fsyncs its output before renaming it into place; age -o does not. -nosync rows:"
echo " pgward writing to a redirect, no fsync; -fsync rows: age followed by an fsync of its output)"
echo

ratio() { awk -v a="$1" -v p="$2" 'BEGIN { if (p > 0) printf "%.2f", a / p; else print "inf" }'; }
verdict() { awk -v r="$1" -v t="$P6_TARGET" 'BEGIN { print (r + 0 >= t + 0) ? "PASS" : "FAIL" }'; }
enc_ratio=$(ratio "${MED[big.age.encrypt]}" "${MED[big.pgward.encrypt]}")
dec_ratio=$(ratio "${MED[big.age.decrypt]}" "${MED[big.pgward.decrypt]}")
enc_v=$(verdict "$enc_ratio")
dec_v=$(verdict "$dec_ratio")
enc_nn=$(ratio "${MED[big.age.encrypt]}" "${MED[big.pgward.encrypt-nosync]}")
dec_nn=$(ratio "${MED[big.age.decrypt]}" "${MED[big.pgward.decrypt-nosync]}")
enc_ff=$(ratio "${MED[big.age.encrypt-fsync]}" "${MED[big.pgward.encrypt]}")
dec_ff=$(ratio "${MED[big.age.decrypt-fsync]}" "${MED[big.pgward.decrypt]}")
echo "== P6: pgward throughput / age throughput (target >= ${P6_TARGET}x; informational)"
printf '  encrypt  %5sx  %s   (pgward -o, durable, vs age -o, not durable)\n' "$enc_ratio" "$enc_v"
printf '  decrypt  %5sx  %s\n' "$dec_ratio" "$dec_v"
printf '  encrypt  %5sx  %s   like for like, neither fsyncs\n' "$enc_nn" "$(verdict "$enc_nn")"
printf '  decrypt  %5sx  %s\n' "$dec_nn" "$(verdict "$dec_nn")"
printf '  encrypt  %5sx  %s   like for like, both fsync\n' "$enc_ff" "$(verdict "$enc_ff")"
printf '  decrypt  %5sx  %s\n' "$dec_ff" "$(verdict "$dec_ff")"
echo

echo "== peak memory (max RSS, MiB): $SMALL_MB MiB vs $SIZE_MB MiB input"
printf '%-8s %-9s %9s %9s %9s  %s\n' tool operation "${SMALL_MB}MiB" "${SIZE_MB}MiB" growth verdict
flat_all=true
declare -A FLAT
for t in pgward age; do
  for op in encrypt decrypt; do
    s=${RSS[small.$t.$op]} b=${RSS[big.$t.$op]}
    # flat: grows by at most 2 MiB or 10% when the input grows SIZE/SMALL times
    f=$(awk -v s="$s" -v b="$b" 'BEGIN { print (b - s <= 2048 || b <= s * 1.10) ? "flat" : "GROWS" }')
    v=$f
    if [ "$t" = pgward ]; then
      [ "$b" -le $((P7_RSS_MIB * 1024)) ] && v="$f, <= ${P7_RSS_MIB} MiB" || v="$f, > ${P7_RSS_MIB} MiB"
      [ "$f" = flat ] && [ "$b" -le $((P7_RSS_MIB * 1024)) ] || flat_all=false
    fi
    FLAT[$t.$op]=$f
    printf '%-8s %-9s %9s %9s %+8.1f  %s\n' "$t" "$op" "$(kib2mib "$s")" "$(kib2mib "$b")" \
      "$(awk -v s="$s" -v b="$b" 'BEGIN { printf "%.1f", (b - s) / 1024 }')" "$v"
  done
done
mem_v=$($flat_all && echo PASS || echo FAIL)
echo "  P7 spirit (pgward flat in size and <= ${P7_RSS_MIB} MiB): $mem_v"
echo

# --- JSON ----------------------------------------------------------------------------------
jarr() { local x out=""; for x in $1; do out+="${out:+, }$x"; done; printf '[%s]' "$out"; }
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
mkdir -p "$RESULTS_DIR"
[ -f "$RESULTS_DIR/.gitignore" ] || printf '*\n!.gitignore\n' >"$RESULTS_DIR/.gitignore"
total_s=$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
{
  printf '{\n'
  printf '  "date": %s,\n' "$(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  printf '  "machine": {"cpu": %s, "nproc": %d, "mem_mib": %d, "kernel": %s, "scratch_fs": %s},\n' \
    "$(jstr "$cpu")" "$ncpu" "$mem_mib" "$(jstr "$kernel")" "$(jstr "$fstype")"
  printf '  "pgward": {"version": %s, "commit": %s},\n' "$(jstr "$pw_version")" "$(jstr "$commit$dirty")"
  printf '  "age": {"version": %s},\n' "$(jstr "$age_version")"
  printf '  "params": {"size_mib": %d, "small_mib": %d, "rounds": %d, "baseline": %s},\n' \
    "$SIZE_MB" "$SMALL_MB" "$ROUNDS" "$([ "$BASELINE" = 1 ] && echo true || echo false)"
  printf '  "runs": [\n'
  all=("${rows[@]}" small.pgward.encrypt small.age.encrypt small.pgward.decrypt small.age.decrypt)
  for i in "${!all[@]}"; do
    n=${all[$i]}
    IFS=. read -r set tool op <<<"$n"
    mib=$SIZE_MB
    [ "$set" = small ] && mib=$SMALL_MB
    printf '    {"tool": "%s", "operation": "%s", "size_mib": %d, "median_wall_s": %s, "mib_per_s": %s, "max_rss_kib": %s, "median_user_s": %s, "median_sys_s": %s, "wall_s": %s, "rss_kib": %s}%s\n' \
      "$tool" "$op" "$mib" "${MED[$n]}" "${MBS[$n]}" "${RSS[$n]}" "${USR[$n]}" "${SYS[$n]}" \
      "$(jarr "${S_wall[$n]}")" "$(jarr "${S_rss[$n]}")" "$([ "$i" -lt $((${#all[@]} - 1)) ] && echo ,)"
  done
  printf '  ],\n'
  printf '  "p6": {"target": %s, "encrypt_ratio": %s, "encrypt": "%s", "decrypt_ratio": %s, "decrypt": "%s"},\n' \
    "$P6_TARGET" "$enc_ratio" "$enc_v" "$dec_ratio" "$dec_v"
  printf '  "memory": {"limit_mib": %d, "pgward_encrypt": "%s", "pgward_decrypt": "%s", "verdict": "%s"},\n' \
    "$P7_RSS_MIB" "${FLAT[pgward.encrypt]}" "${FLAT[pgward.decrypt]}" "$mem_v"
  printf '  "total_runtime_s": %s\n' "$total_s"
  printf '}\n'
} >"$RESULTS_DIR/latest.json.tmp"
mv "$RESULTS_DIR/latest.json.tmp" "$RESULTS_DIR/latest.json"
echo "results: ${RESULTS_DIR#"$here"/}/latest.json   total runtime: ${total_s} s"
