#!/usr/bin/env bash
# test_status_page.sh - the status page in a real browser (Debian's headless chromium) and
# /metrics through the strict checker, on a made-up board (tests/tools/render_board.c): a
# stanza never backed up, one failing with a hostile message, a healthy one with PITR and
# a recovery window, one whose name and schedule are hostile, one that only verifies here.
#   - the DOM chromium built: one section per stanza with its state, no script element,
#     no event-handler attribute, the hostile strings as text (the browser shows
#     "<script>alert(1)</script>" as characters);
#   - a phone-sized screenshot (390x844): a PNG of that size with the state colours
#     drawn (so the CSP let the style sheet in by its hash), one column; a wide one: two;
#   - the metrics: promcheck (the strict exposition-format checker) and every metric
#     docs/alerts.yml uses is exported.
# The page and the metrics come from files until the daemon serves them: STATUS_PAGE_URL
# and METRICS_FILE name what is tested (the lead points them at the daemon's output).
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP
[[ -x ${PGWARD_RENDER_BOARD:-} && -x ${PGWARD_PROMCHECK:-} ]] ||
    tk_skip "render_board and promcheck are not built (run through meson)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -x $CHROMIUM ]] || tk_skip "no $CHROMIUM (tools/deps.sh installs chromium)"
SRC=${PGWARD_SRCDIR:-$(dirname "$0")/../..}
TOOLS=$SRC/tests/tools

out=$TK_TMP/board
mkdir -p "$out"
"$PGWARD_RENDER_BOARD" "$out"
STATUS_PAGE_URL=${STATUS_PAGE_URL:-file://$out/index.html}
METRICS_FILE=${METRICS_FILE:-$out/metrics.txt}

# --- /metrics -----------------------------------------------------------------------
"$PGWARD_PROMCHECK" -n "$METRICS_FILE" >"$TK_TMP/families" || tk_fail "promcheck rejected the metrics"
tk_pass "the metrics pass the strict checker ($(wc -l <"$TK_TMP/families") families)"
python3 "$TOOLS/alerts_check.py" "$SRC/docs/alerts.yml" "$TK_TMP/families" ||
    tk_fail "docs/alerts.yml uses a metric that is not exported"
tk_pass "every metric docs/alerts.yml uses is exported"
grep -qx 'pgward_job_ever_succeeded{stanza="newdb",kind="backup"} 0' "$METRICS_FILE" ||
    tk_fail "newdb is not 'never succeeded'"
! grep -q 'pgward_job_last_success_timestamp_seconds{stanza="newdb"' "$METRICS_FILE" ||
    tk_fail "newdb has a last-success timestamp"
tk_pass "never succeeded: ever_succeeded 0, no timestamp"

# --- the page in chromium ------------------------------------------------------------
chrome() {
    timeout 90 "$CHROMIUM" --headless --disable-gpu --no-sandbox --no-first-run \
        --disable-extensions --disable-dev-shm-usage --hide-scrollbars \
        --user-data-dir="$TK_TMP/chromium" "$@" 2>>"$TK_TMP/chromium.log"
}
# one browser run for the DOM and the phone-sized screenshot (each start takes seconds)
chrome --window-size=390,844 --screenshot="$TK_TMP/phone.png" --dump-dom "$STATUS_PAGE_URL" \
    >"$TK_TMP/dom.html" || tk_fail "chromium --dump-dom --screenshot failed"
python3 - "$TK_TMP/dom.html" <<'PY' || tk_fail "the DOM chromium built is not the expected page"
import sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.sections, self.facts, self.stack = {}, [], {}, []
        self.title, self.fact, self.handlers, self.csp = "", None, [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.handlers += [k for k in a if k.lower().startswith("on")]
        if tag == "section":
            self.sections.append((a.get("data-stanza"), a.get("data-state")))
        if tag == "dd" and "data-fact" in a:
            self.fact = (self.sections[-1][0], a["data-fact"])
            self.facts[self.fact] = ""
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy":
            self.csp = a.get("content")
        self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag == "dd":
            self.fact = None
        while self.stack and self.stack.pop() != tag:
            pass
    def handle_data(self, data):
        if self.fact:
            self.facts[self.fact] += data
        if self.stack and self.stack[-1] == "title":
            self.title += data

p = Page()
p.feed(open(sys.argv[1], encoding="utf-8").read())
fact = lambda stanza, name: p.facts.get((stanza, name), "")
hostile = "x\"><script>alert(2)</script>&amp;'\\x01\\xff\\n</section>"
want = [("newdb", "never-overdue"), ("shop", "failing"), ("main", "ok"),
        (hostile, "unreachable"), ("drills", "ok")]
checks = [
    (p.sections == want, "sections %r" % (p.sections,)),
    (p.tags.get("script", 0) == 0, "script elements: %d" % p.tags.get("script", 0)),
    (p.tags.get("b", 0) == 0, "a <b> element from a schedule"),
    (p.tags.get("img", 0) + p.tags.get("link", 0) + p.tags.get("iframe", 0) == 0, "external assets"),
    (not p.handlers, "event-handler attributes %r" % p.handlers),
    (p.csp and p.csp.startswith("default-src 'none'; style-src 'sha256-"), "CSP %r" % p.csp),
    (p.title == "pgward: 3 of 5 stanzas need attention", "title %r" % p.title),
    ("<script>alert(1)</script> & \"quoted\" 'single' \\x1b[31mred" in fact("shop", "failures"),
     "the hostile message as text: %r" % fact("shop", "failures")),
    ("3 in a row, the last at 2026-12-07 01:41 UTC (19 min ago), exit 5" in fact("shop", "failures"),
     "shop's failures: %r" % fact("shop", "failures")),
    (fact("newdb", "last-backup") == "never succeeded", "newdb's last backup"),
    ("NEVER SUCCEEDED, OVERDUE" in fact("newdb", "dead-man"), "newdb's dead-man"),
    ("depth 3 (restore drill)" in fact("main", "last-drill"), "main's drill"),
    (fact("main", "window").startswith("from 2026-11-30 02:00 UTC"), "main's window"),
    ("last durable 2026-12-07 01:59 UTC (12 s ago)" in fact("main", "wal"), "main's WAL"),
    ("[daily \"02:00\" \\\\ <b>bold</b>\\n# TYPE x]" in fact(hostile, "next-run"),
     "the hostile schedule as text: %r" % fact(hostile, "next-run")),
    (fact(hostile, "repository").startswith("UNREACHABLE"), "the unreachable repository"),
    (fact("drills", "last-backup") == "not run by this service", "drills' backups"),
    ("verify: running now (job 17)" in fact("drills", "next-run"), "drills' running job"),
]
bad = [what for ok, what in checks if not ok]
for what in bad:
    print("DOM: " + what)
sys.exit(1 if bad else 0)
PY
tk_pass "the DOM: 5 stanzas with their states, no script, hostile strings as text"

python3 "$TOOLS/pngcheck.py" "$TK_TMP/phone.png" 390 844 1 1 ||
    tk_fail "the phone-sized screenshot is not one column of styled cards"
chrome --window-size=900,500 --screenshot="$TK_TMP/wide.png" "$STATUS_PAGE_URL" >/dev/null ||
    tk_fail "chromium --screenshot failed"
python3 "$TOOLS/pngcheck.py" "$TK_TMP/wide.png" 900 500 2 2 ||
    tk_fail "the wide screenshot does not show the cards side by side"
tk_pass "screenshots: styled (the CSP admits the style sheet), one column on a phone, two wide"
if [[ -n ${PGWARD_KEEP_SCREENSHOTS:-} ]]; then
    cp "$TK_TMP/phone.png" "$TK_TMP/wide.png" "$PGWARD_KEEP_SCREENSHOTS"/
fi
