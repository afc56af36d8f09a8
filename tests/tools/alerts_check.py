#!/usr/bin/env python3
"""alerts_check.py - docs/alerts.yml against what /metrics really exports.

    alerts_check.py ALERTS_YML FAMILIES

FAMILIES is `promcheck -n METRICS` output ("NAME TYPE SAMPLES" a line) for a board on
which every fact is known (tests/tools/render_board.c). Checks the rule file's shape (a
Prometheus rule file: groups of rules, each with alert, expr, labels.severity and
annotations.summary; unique alert names; "for" a duration), that every pgward_* name an
expression uses is a family with samples, and that counters are used through a range
function (increase, rate) and never compared raw. Exits 1 with one line per problem.
"""
import re
import sys

import yaml

NAME = re.compile(r"\bpgward_[a-zA-Z0-9_]+\b")
DURATION = re.compile(r"^[0-9]+[smhdwy]$")


def main():
    rules_path, families_path = sys.argv[1], sys.argv[2]
    families = {}
    for line in open(families_path):
        name, kind, samples = line.split()
        families[name] = (kind, int(samples))
    doc = yaml.safe_load(open(rules_path))
    problems, seen, used = [], set(), set()
    if not isinstance(doc, dict) or set(doc) != {"groups"} or not isinstance(doc["groups"], list):
        problems.append("the file is not {groups: [...]}")
        doc = {"groups": []}
    for g in doc["groups"]:
        if not isinstance(g.get("name"), str) or not isinstance(g.get("rules"), list):
            problems.append("a group without a name or rules")
            continue
        for r in g["rules"]:
            alert = r.get("alert")
            expr = r.get("expr")
            if not isinstance(alert, str) or not isinstance(expr, str):
                problems.append("a rule without alert or expr: %r" % r)
                continue
            if alert in seen:
                problems.append("%s: a second rule of that name" % alert)
            seen.add(alert)
            extra = set(r) - {"alert", "expr", "for", "labels", "annotations"}
            if extra:
                problems.append("%s: unknown keys %s" % (alert, sorted(extra)))
            if "for" in r and not DURATION.match(str(r["for"])):
                problems.append("%s: 'for' is not a duration: %r" % (alert, r["for"]))
            if (r.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                problems.append("%s: no severity label" % alert)
            if not (r.get("annotations") or {}).get("summary"):
                problems.append("%s: no summary" % alert)
            if expr.count("(") != expr.count(")") or expr.count("{") != expr.count("}"):
                problems.append("%s: unbalanced brackets in %r" % (alert, expr))
            for name in NAME.findall(expr):
                used.add(name)
                if name not in families:
                    problems.append("%s: %s is not a metric /metrics exports" % (alert, name))
                elif families[name][1] == 0:
                    problems.append("%s: %s has no sample on the full board" % (alert, name))
                elif families[name][0] == "counter" and not re.search(
                        r"\b(increase|rate|irate)\(\s*%s\b" % name, expr):
                    problems.append("%s: the counter %s is used without increase/rate" %
                                    (alert, name))
    for p in problems:
        print("alerts_check: %s" % p)
    if not problems:
        print("alerts_check: %d rules, %d metric names, all exported" % (len(seen), len(used)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
