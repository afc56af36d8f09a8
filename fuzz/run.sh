#!/bin/sh
# run.sh - build and run the libFuzzer targets for a bounded time.
#   fuzz/run.sh [SECONDS]      (default 60 seconds per target; or $FUZZ_SECONDS)
# Installs nothing (make fuzz runs tools/deps.sh first). Builds build-fuzz with clang,
# the libraries instrumented for coverage and ASan/UBSan. Seeds come from tests/data/age
# into fuzz/corpus/<target>/ (read only); new inputs go to fuzz/corpus-work/<target>/
# (gitignored); crash inputs to fuzz/crashes/. Exits 1 if any target crashed or leaked.
set -eu

cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-60}}
case $SECONDS_PER_TARGET in
'' | *[!0-9]* | 0)
	echo "usage: fuzz/run.sh [SECONDS]  (a positive number of seconds per target)" >&2
	exit 2
	;;
esac

TARGETS="fuzz_age_header fuzz_age_armor fuzz_pgdump_archive fuzz_globals fuzz_minisign fuzz_s3_list fuzz_manifest fuzz_replication fuzz_tar"
BUILD=build-fuzz
C_ARGS="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined"

die() {
	echo "fuzz/run.sh: $*" >&2
	exit 2
}

# ---- toolchain ----
command -v clang >/dev/null 2>&1 ||
	die "clang is missing; install it with \"make deps\" (clang, libclang-rt-14-dev)"
command -v meson >/dev/null 2>&1 || die "meson is missing; install it with \"make deps\""
command -v ninja >/dev/null 2>&1 || die "ninja is missing; install it with \"make deps\""
command -v python3 >/dev/null 2>&1 || die "python3 is missing (needed to build the seed corpus)"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
	'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
	>"$probe/probe.c"
clang -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" >"$probe/log" 2>&1 ||
	die "clang cannot build a libFuzzer program (is libclang-rt-14-dev installed?):
$(cat "$probe/log")"

# ---- build ----
if [ -f "$BUILD/build.ninja" ] &&
	! grep -q '"id": *"clang"' "$BUILD/meson-info/intro-compilers.json" 2>/dev/null; then
	echo "fuzz/run.sh: $BUILD was not configured with clang; configuring it again"
	rm -rf "$BUILD"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false -Dc_args="$C_ARGS"
else
	# Reuse the build dir, making sure it is configured as above.
	if ! python3 - "$BUILD/meson-info/intro-buildoptions.json" "$C_ARGS" <<'EOF'; then
import json, sys
opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
san = opts.get("b_sanitize")
san = set(san.split(",") if isinstance(san, str) else san or [])
ok = (opts.get("fuzz") is True and opts.get("tests") is False
      and {"address", "undefined"} <= san and opts.get("c_args") == sys.argv[2].split())
sys.exit(0 if ok else 1)
EOF
		meson configure "$BUILD" -Dfuzz=true -Dtests=false \
			-Db_sanitize=address,undefined -Db_lundef=false -Dc_args="$C_ARGS"
	fi
fi
# shellcheck disable=SC2046 # one word per target
ninja -C "$BUILD" $(for t in $TARGETS; do printf "fuzz/%s " "$t"; done)

# ---- seed corpus (deterministic, from the C2SP vectors) ----
python3 - <<'EOF'
import os, zlib

SRC = "tests/data/age"
MAX = 1 << 20  # -max_len
seeds = {"fuzz_age_header": {}, "fuzz_age_armor": {}}
for name in sorted(os.listdir(SRC)):
    if name in ("LICENSE", "README.md"):
        continue
    raw = open(os.path.join(SRC, name), "rb").read()
    cut = raw.find(b"\n\n")
    if cut < 0:
        continue
    meta, body = raw[:cut].decode("utf-8", "replace"), raw[cut + 2:]
    if "\ncompressed: zlib" in "\n" + meta:
        body = zlib.decompress(body)
    if len(body) > MAX:
        continue
    seeds["fuzz_age_header"][name] = body
    if "\narmored: yes" in "\n" + meta or name.startswith("armor"):
        seeds["fuzz_age_armor"][name] = body
seeds["fuzz_pgdump_archive"] = {
    name: open(os.path.join("tests/data/pgdump", name), "rb").read()
    for name in sorted(os.listdir("tests/data/pgdump")) if name.endswith(".dump")
}
seeds["fuzz_globals"] = {
    name: open(os.path.join("tests/data/globals", name), "rb").read()
    for name in sorted(os.listdir("tests/data/globals")) if name.endswith(".sql")
}
seeds["fuzz_minisign"] = {
    name: open(os.path.join("tests/data/minisign", name), "rb").read()
    for name in sorted(os.listdir("tests/data/minisign"))
}
seeds["fuzz_manifest"] = {
    name: open(os.path.join("tests/data/manifest", name), "rb").read()
    for name in sorted(os.listdir("tests/data/manifest"))
}
seeds["fuzz_s3_list"] = {
    name: open(os.path.join("tests/data/s3", name), "rb").read()
    for name in sorted(os.listdir("tests/data/s3"))
    if name != "README.md" and not name.endswith(".sh")
    and os.path.isfile(os.path.join("tests/data/s3", name))
}
for target, files in seeds.items():
    d = os.path.join("fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old not in files:
            os.remove(os.path.join(d, old))
    for name, body in files.items():
        p = os.path.join(d, name)
        if not os.path.exists(p) or open(p, "rb").read() != body:
            open(p, "wb").write(body)
EOF

# ---- run ----
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
mkdir -p fuzz/crashes
failed=""
summary=""
for t in $TARGETS; do
	work="fuzz/corpus-work/$t"
	log="fuzz/corpus-work/$t.log"
	mkdir -p "$work"
	echo "==> $t: ${SECONDS_PER_TARGET}s (log: $log)"
	rc=0
	"$BUILD/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len=1048576 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fuzz/crashes/$t-" \
		"$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	summary="$summary
  $t: ${last:-no status line} | average exec/s: ${eps:-?}"
	if [ "$rc" -ne 0 ]; then
		failed="$failed $t"
		tail -n 60 "$log" >&2
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "fuzz/run.sh: $t FAILED (exit $rc); input: ${artifact:-see $log}" >&2
		[ -n "$artifact" ] && echo "  reproduce: $BUILD/fuzz/$t $artifact" >&2
	fi
done
echo "==> summary:$summary"
if [ -n "$failed" ]; then
	echo "fuzz/run.sh: crash, leak or timeout in:$failed (inputs in fuzz/crashes/)" >&2
	exit 1
fi
echo "fuzz/run.sh: no crashes"
