#!/usr/bin/env python3
"""doctest.py - the documentation's shell examples as tests (used by test_docs.sh).

Markers, in README.md and docs/*.md:

  ```sh runnable            a shell example the docs test runs, in document order, one
                            logical line (backslash continuations joined) at a time, in
                            one shell per document (exports and cd carry over). A
                            command may exit non-zero only with a code its own comment
                            names ("... # exit 25 when ..."); any other exit fails.
                            A comment "exits N" means it must exit N (a refusal shown).
  ```sh runnable s3         the same, against the test's S3 server (started only when a
                            document needs it; s3://acme-backups/ is its bucket).
  ```ini contrib=PATH       a copy of a file under contrib/ (lint: must be identical).
  ```ini file=PATH          a file the example needs (a config file): written to PATH
                            (0600, placeholders substituted) when the test reaches it.
  <!-- not-run: REASON -->  on the line before a shell block the test cannot run here.

Every block tagged sh/bash/shell/console, and every untagged block that holds a pgward
command, must be runnable or not-run (with a reason). Placeholders are substituted from
the harness (see subst_table): db.internal and localhost are the test server, "..." after
PASSWORD=, PASSPHRASE= or SECRET_ACCESS_KEY= is the test's password or S3 secret, age1...
is the recipient of the newest age identity in the document's directory, RW... the newest
signing public key, 32662fb0e19a4c7d the audit log's head (16 digits), /etc/pgward and
/var/... live under the document's directory (any other absolute path under /etc, /var,
/usr/local, /opt, /srv, /home or /root in a runnable command is refused). Relative links
must lead to files that exist.

Usage:
  doctest.py lint FILE...           report unmarked shell examples, contrib copies that
                                    differ and broken links (exit 1 if any)
  doctest.py script FILE            print the bash script that runs FILE's examples
  doctest.py options MDFILE HELP    check MDFILE's generated option table against the
                                    text of "pgward help config" in file HELP
                                    (--fix rewrites the table)
  doctest.py exit-codes MDFILE HELP the same for docs/exit-codes.md and the text of
                                    "pgward help exit-codes"
"""
import os
import re
import shlex
import sys

SHELL_LANGS = {"sh", "bash", "shell", "console", "shell-session"}
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(\S.*?)\s*-->\s*$")

# literal placeholder -> replacement: static values (DOC_* from the environment: the
# document's directory, the server's port, the roles' password; safe in any quoting), and
# shell functions for what earlier examples create (expanded when the command runs)
def subst_table():
    root, port = os.environ.get("DOC_ROOT", "/nonexistent"), os.environ.get("DOC_PGPORT", "5432")
    return [
        ("/usr/local/bin/pgward", "pgward"),
        ("/var/backups/pgward", root + "/var/backups/pgward"),
        ("/var/lib/pgward", root + "/var/lib/pgward"),
        ("/var/log/pgward", root + "/var/log/pgward"),
        ("/etc/pgward", root + "/etc/pgward"),
        ("/etc/systemd/system", root + "/etc/systemd/system"),
        ("/etc/cron.d", root + "/etc/cron.d"),
        ("@db.internal/", "@localhost:%s/" % port),
        ("@db.example.com/", "@localhost:%s/" % port),
        ("@localhost/", "@localhost:%s/" % port),
        ("age1...", "$(doc_recipient)"),
        ("RW...", "$(doc_signer)"),
        ("32662fb0e19a4c7d", "$(doc_audit_head)"),
        # S3 (```sh runnable s3): the test's Ceph RGW stands in for AWS
        ("s3://acme-backups/", "s3://%s/" % os.environ.get("DOC_S3_BUCKET", "none")),
        ("eu-west-1", os.environ.get("DOC_S3_REGION", "us-east-1")),
        ("AKIA...", os.environ.get("DOC_S3_ACCESS", "")),
    ]


PASSWORD_DOTS = re.compile(r"(PASSWORD=|PASSPHRASE=|SECRET_ACCESS_KEY=)\.\.\.")


def subst(text):
    for a, b in subst_table():
        text = text.replace(a, b)
    return PASSWORD_DOTS.sub(
        lambda m: m.group(1) + os.environ.get(
            "DOC_S3_SECRET" if m.group(1) == "SECRET_ACCESS_KEY=" else "DOC_PASSWORD", ""), text)


def blocks(path):
    """Yield (line, info, body_lines, not_run_reason_or_None, prev_line) per fenced block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+)\s*(.*)$", lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m.group(2), m.group(3).strip(), i + 1
        prev = lines[i - 1] if i > 0 else ""
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append((i + 1, lines[i]))
            i += 1
        nr = NOT_RUN.match(prev.strip())
        yield start, info, body, (nr.group(1) if nr else None), prev
        i += 1


def is_shell(info, body):
    lang = info.split()[0] if info else ""
    if lang in SHELL_LANGS:
        return True
    if not info:
        return any(re.match(r"^\s*(\$ )?(sudo )?(pgward|age|minisign|psql|pg_dump|pg_restore|"
                            r"meson|ninja|make|systemctl|export|cd|crontab) ", l)
                   for _, l in body)
    return False


LINK = re.compile(r"\]\(([^)\s]+)\)")


def lint(paths):
    bad = []
    for p in paths:
        # relative links must lead to a file that exists (anchors are not checked)
        with open(p, encoding="utf-8") as f:
            for no, l in enumerate(f, 1):
                for target in LINK.findall(l):
                    if re.match(r"^(https?:|mailto:|#)", target):
                        continue
                    t = os.path.join(os.path.dirname(p), target.split("#")[0])
                    if not os.path.exists(t):
                        bad.append(f"{p}:{no}: link to {target}, which does not exist")
        for line, info, body, reason, prev in blocks(p):
            words = info.split()
            runnable = "runnable" in words[1:]
            if "not-run" in prev and reason is None:
                bad.append(f"{p}:{line}: a not-run marker needs a reason: {prev.strip()}")
            if runnable and reason is not None:
                bad.append(f"{p}:{line}: block is both runnable and not-run")
            for w in words[1:]:
                if w.startswith("contrib="):
                    try:
                        with open(w[8:], encoding="utf-8") as f:
                            want = f.read().rstrip("\n")
                    except OSError as e:
                        bad.append(f"{p}:{line}: {w}: {e.strerror}")
                        continue
                    if "\n".join(l for _, l in body) != want:
                        bad.append(f"{p}:{line}: block differs from {w[8:]} (copy the file in)")
            if is_shell(info, body) and not runnable and reason is None:
                if not info:
                    bad.append(f"{p}:{line}: untagged block with a pgward command: tag it "
                               "```sh runnable, or put <!-- not-run: REASON --> before it")
                else:
                    bad.append(f"{p}:{line}: shell example neither runnable nor marked "
                               "<!-- not-run: REASON -->")
    for b in bad:
        print(b)
    return 1 if bad else 0


def split_comment(cmd):
    """Return (command, comment) splitting at the first unquoted ' #'."""
    q = None
    for k, c in enumerate(cmd):
        if q:
            if c == q:
                q = None
        elif c in "'\"":
            q = c
        elif c == "#" and (k == 0 or cmd[k - 1] in " \t"):
            return cmd[:k].rstrip(), cmd[k + 1:]
    return cmd, ""


def script(path):
    out = []
    if any("runnable" in info.split()[1:] and "s3" in info.split()[1:]
           for _, info, _, reason, _ in blocks(path) if reason is None):
        out.append("doc_needs_s3")
    for line, info, body, reason, _ in blocks(path):
        words = info.split()
        if reason is not None:
            continue
        files = [w[5:] for w in words[1:] if w.startswith("file=")]
        if files:
            text = subst("\n".join(l for _, l in body))
            out.append(f"doc_file {line} {shlex.quote(subst(files[0]))} <<__DOC_FILE__\n"
                       f"{text}\n__DOC_FILE__")
            continue
        if "runnable" not in words[1:]:
            continue
        k = 0
        while k < len(body):
            no, text = body[k]
            while text.endswith("\\") and k + 1 < len(body):
                k += 1
                text = text + "\n" + body[k][1]
            k += 1
            cmd, comment = split_comment(text)
            if not cmd.strip():
                continue
            must = {int(c) for c in re.findall(r"\bexits (\d+)\b", comment)}
            ok = sorted(must or {int(c) for c in re.findall(r"\bexit (\d+)\b", comment)} | {0})
            shown = cmd.strip()
            stray = re.search(r"(^|[\s='\"])(/(etc|var|usr/local|opt|srv|home|root)/\S*)", subst(cmd))
            if stray:
                print(f"{path}:{no}: absolute path {stray.group(2)} has no stand-in under "
                      "the document's directory: add one to doctest.py's subst_table",
                      file=sys.stderr)
                return 1
            out.append(f"doc_cmd {no} {shlex.quote(' '.join(map(str, ok)))} "
                       f"{shlex.quote(shown)} {shlex.quote(subst(cmd))}")
    if out:
        print("\n".join(out))
    return 0


OPT_BEGIN = "<!-- options: generated from src/config/options.def by tests/tools/doctest.py options --fix -->"
OPT_END = "<!-- end of options -->"


def options_table(help_text):
    """Markdown table from "pgward help config" (name [(secret)], help, where, variable, default)."""
    rows = []
    entries = re.split(r"\n(?=\S)", help_text.split("\n\n", 1)[1].strip())
    for e in entries:
        ls = e.split("\n")
        name = ls[0].strip()
        secret = name.endswith(" (secret)")
        name = name.replace(" (secret)", "")
        desc = ls[1].strip()
        meta = ls[2].strip() if len(ls) > 2 else ""
        where = re.search(r"where: (.*?)(  variable:|  default:|$)", meta).group(1).strip()
        var = re.search(r"variable: (\S+)", meta)
        dflt = re.search(r"default: (.*)$", meta)
        places = []
        if "[global]" in where:
            places.append("file")
        if "[stanza]" in where:
            places.append("stanza")
        if "env" in where.split():
            places.append("env")
        if "command-line" in where:
            places.append("command line")
        cell = lambda s: s.replace("|", "\\|")
        rows.append("| `%s`%s | %s | %s | %s | %s |" % (
            name, " (secret)" if secret else "", ", ".join(places),
            f"`{var.group(1)}`" if var else "",
            f"`{cell(dflt.group(1))}`" if dflt else "", cell(desc)))
    head = ["| option | where | variable | default | what |", "|---|---|---|---|---|"]
    return "\n".join(head + rows)


EXIT_BEGIN = "<!-- exit codes: generated from src/common/errors.def by tests/tools/doctest.py exit-codes --fix -->"
EXIT_END = "<!-- end of exit codes -->"


def exit_table(help_text):
    """Markdown table from "pgward help exit-codes" (code, NAME, summary)."""
    rows = ["| exit | name | meaning |", "|---|---|---|"]
    for l in help_text.split("\n"):
        m = re.match(r"^\s+(\d+)\s+(\S+)\s+(.*)$", l)
        if m:
            rows.append("| %s | `%s` | %s |" % (m.group(1), m.group(2), m.group(3).replace("|", "\\|")))
    return "\n".join(rows)


def exit_codes(md, help_file, fix):
    return generated(md, help_file, fix, exit_table, EXIT_BEGIN, EXIT_END, "exit-codes",
                     "pgward help exit-codes")


def options(md, help_file, fix):
    return generated(md, help_file, fix, options_table, OPT_BEGIN, OPT_END, "options",
                     "pgward help config")


def generated(md, help_file, fix, make, OPT_BEGIN, OPT_END, mode, cmd):
    with open(help_file, encoding="utf-8") as f:
        table = make(f.read())
    with open(md, encoding="utf-8") as f:
        text = f.read()
    if OPT_BEGIN not in text or OPT_END not in text:
        print(f"{md}: no generated table ({OPT_BEGIN})")
        return 1
    a = text.index(OPT_BEGIN) + len(OPT_BEGIN)
    b = text.index(OPT_END)
    want = "\n" + table + "\n"
    if text[a:b] == want:
        return 0
    if fix:
        with open(md, "w", encoding="utf-8") as f:
            f.write(text[:a] + want + text[b:])
        return 0
    have = text[a:b].strip().split("\n")
    for row in table.split("\n"):
        if row not in have:
            print(f"{md}: the table lacks or differs in: {row}")
    for row in have:
        if row not in table.split("\n"):
            print(f"{md}: the table has a row the code does not: {row}")
    print(f"run: tests/tools/doctest.py {mode} {md} <({cmd}) --fix")
    return 1


def main(argv):
    if len(argv) >= 2 and argv[1] == "lint":
        return lint(argv[2:])
    if len(argv) == 3 and argv[1] == "script":
        return script(argv[2])
    if len(argv) in (4, 5) and argv[1] == "options":
        return options(argv[2], argv[3], len(argv) == 5 and argv[4] == "--fix")
    if len(argv) in (4, 5) and argv[1] == "exit-codes":
        return exit_codes(argv[2], argv[3], len(argv) == 5 and argv[4] == "--fix")
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
