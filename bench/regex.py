"""What bounded pattern matching costs: cql's ``like``/``regexp`` matching
(cql.engine.regex: LIKE shapes linear, the rest through the ``regex`` package
within a time budget) against Python's ``re`` (no bound at all), per string,
in the same run; then the runaway cases where ``re`` has no answer in time.

    python bench/regex.py [--strings 100000]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cql.engine.regex import regex_search, statement_budget  # noqa: E402
from cql.planner import like_to_regex  # noqa: E402

CASES = [
    ("like 'ab%'", like_to_regex("ab%")),
    ("like '%ab%'", like_to_regex("%ab%")),
    ("like 'a%b_'", like_to_regex("a%b_")),
    ("like '%a%b%c%'", like_to_regex("%a%b%c%")),
    ("regexp '^[a-z]+$'", "^[a-z]+$"),
    ("regexp '\\d{2}'", r"\d{2}"),
    ("regexp '(?i)ABC'", "(?i)ABC"),
]


def per_string(search, strings) -> float:
    start = time.perf_counter()
    for s in strings:
        search(s)
    return (time.perf_counter() - start) / len(strings) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--strings", type=int, default=100_000)
    args = ap.parse_args()
    rnd = random.Random(1)
    strings = ["".join(rnd.choice("abcxyz1") for _ in range(rnd.randint(4, 40))) for _ in range(args.strings)]
    print(f"{args.strings} strings of 4-40 characters; microseconds per string (lower is better)")
    print(f"{'pattern':24} {'re':>8} {'cql':>8} {'cql/re':>8}")
    with statement_budget(60):
        for name, pattern in CASES:
            plain = re.compile(pattern).search
            bounded = regex_search(pattern, "")
            a = per_string(plain, strings)
            b = per_string(bounded, strings)
            print(f"{name:24} {a:8.2f} {b:8.2f} {b / a:7.1f}x")
    print("\nrunaway cases (one string); re is given up to 5 s of CPU in a child process")
    for name, pattern, text in [("like '%a%a%a%a%b'", like_to_regex("%a%a%a%a%b"), "a" * 240),
                                ("regexp '(a|a)*$'", "^(a|a)*$", "a" * 30 + "!"),
                                ("regexp '\\w+x'", r"\w+x", "a" * 10000)]:
        start = time.thread_time()
        try:
            with statement_budget(1.0):
                regex_search(pattern, "")(text)
            cql_took = f"{(time.thread_time() - start) * 1000:.1f} ms"
        except Exception as exc:  # noqa: BLE001 - the budget's QueryTimeout
            cql_took = f"stopped after {(time.thread_time() - start) * 1000:.0f} ms ({type(exc).__name__})"
        print(f"{name:24} re: {re_time(pattern, text):>14}   cql: {cql_took}")


def re_time(pattern: str, text: str) -> str:
    import subprocess
    code = ("import re,time,sys; t=time.process_time(); re.search(sys.argv[1], sys.argv[2]); "
            "print(f'{(time.process_time()-t)*1000:.1f} ms')")
    try:
        out = subprocess.run([sys.executable, "-c", code, pattern, text], capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip()
    except subprocess.TimeoutExpired:
        return "> 5 s"


if __name__ == "__main__":
    main()
