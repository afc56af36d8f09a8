#!/usr/bin/env bash
# s3_bench.sh - part of `make bench`: upload and download of a 1 GiB stream to the S3 test
# server (Ceph RGW, memstore, loopback), pgward vs curl doing a single PUT / GET of the same
# file, alternating in one run; wall time, MiB/s, peak RSS. BENCH_S3_MB (default 1024) and
# BENCH_ROUNDS (default 3) scale it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PGWARD=${PGWARD:-$here/build/src/pgward}
SIZE_MB=${BENCH_S3_MB:-1024}
ROUNDS=${BENCH_ROUNDS:-3}
source "$here/tests/harness/lib.sh"
source "$here/tests/harness/s3.sh"
export TK_S3_MEM_BYTES=$(( (SIZE_MB * 4 + 1024) * 1048576 ))
tk_tmpdir
export HOME=$TK_TMP PGWARD_AUDIT_LOG=$TK_TMP/audit.log
W=/var/tmp/pgward-s3bench.$$
mkdir -p "$W"
tk_on_exit "rm -rf '$W'"
s3_start
export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
REPO="s3://$S3_BUCKET_PLAIN/bench"
# curl's credentials from a private config file, not argv
printf 'user = "%s:%s"\n' "$S3_ACCESS" "$S3_SECRET" > "$W/curlrc"
chmod 600 "$W/curlrc"
CURL=(curl -sS -f --noproxy '*' -K "$W/curlrc" --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3"
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
echo "pgward S3 bench: ${SIZE_MB} MiB, $ROUNDS rounds, $(nproc) cores, Ceph RGW (memstore) on loopback"
head -c $((SIZE_MB * 1048576)) /dev/urandom > "$W/in"
declare -A S_wall S_rss
timed() { # NAME CMD...
  local name=$1; shift
  cat "$W/in" > /dev/null
  local t0=$EPOCHREALTIME
  /usr/bin/time -f '%M' -o "$W/rss" "$@" > /dev/null 2> "$W/err" || { cat "$W/err" >&2; exit 1; }
  local t1=$EPOCHREALTIME
  S_wall[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') "
  S_rss[$name]+="$(cat "$W/rss") "
}
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { tr ' ' '\n' | awk 'NF' | sort -g | tail -n1; }
for r in $(seq 1 "$ROUNDS"); do
  printf ' %d' "$r"
  timed pgward.put "$PGWARD" repo put "r$r/obj" "$W/in" --repo "$REPO" --s3-endpoint "$S3_ENDPOINT"
  timed curl.put "${CURL[@]}" -T "$W/in" "$S3_ENDPOINT/$S3_BUCKET_PLAIN/curl/r$r"
  timed pgward.get "$PGWARD" repo get "r$r/obj" --repo "$REPO" --s3-endpoint "$S3_ENDPOINT" -o "$W/out"
  cmp -s "$W/in" "$W/out" || { echo "pgward get differs" >&2; exit 1; }
  timed curl.get "${CURL[@]}" -o "$W/out" "$S3_ENDPOINT/$S3_BUCKET_PLAIN/curl/r$r"
  cmp -s "$W/in" "$W/out" || { echo "curl get differs" >&2; exit 1; }
  # free the server's memory for the next round
  "$PGWARD" repo rm "r$r/obj" --repo "$REPO" --s3-endpoint "$S3_ENDPOINT" > /dev/null
  "${CURL[@]}" -X DELETE "$S3_ENDPOINT/$S3_BUCKET_PLAIN/curl/r$r" > /dev/null
done
echo
printf '%-8s %-5s %9s %9s %11s\n' tool op "wall s" "MiB/s" "maxRSS MiB"
declare -A MED
for n in pgward.put curl.put pgward.get curl.get; do
  MED[$n]=$(median <<<"${S_wall[$n]}")
  printf '%-8s %-5s %9s %9.0f %11.1f\n' "${n%%.*}" "${n#*.}" "${MED[$n]}" \
    "$(awk -v m="$SIZE_MB" -v s="${MED[$n]}" 'BEGIN { print m / s }')" \
    "$(awk -v k="$(maxof <<<"${S_rss[$n]}")" 'BEGIN { print k / 1024 }')"
done
echo "(curl: one PUT with UNSIGNED-PAYLOAD and one GET; pgward: 16 MiB parts x 4 in flight, every"
echo " part with its real SHA-256 checked by the server, streamed GET with resume)"
printf 'ratio pgward/curl wall: put %.2fx, get %.2fx\n' \
  "$(awk -v a="${MED[pgward.put]}" -v b="${MED[curl.put]}" 'BEGIN { print a / b }')" \
  "$(awk -v a="${MED[pgward.get]}" -v b="${MED[curl.get]}" 'BEGIN { print a / b }')"
mkdir -p "$here/bench/results"
printf '{"size_mib": %d, "rounds": %d, "pgward_put_s": %s, "curl_put_s": %s, "pgward_get_s": %s, "curl_get_s": %s}\n' \
  "$SIZE_MB" "$ROUNDS" "${MED[pgward.put]}" "${MED[curl.put]}" "${MED[pgward.get]}" "${MED[curl.get]}" \
  > "$here/bench/results/s3-latest.json"
