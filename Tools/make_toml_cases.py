#!/usr/bin/env python3
"""Write Tests/TOMLTests/Fixtures/toml_cases.json: TOML documents and what Python's tomllib reads.

    python3 Tools/make_toml_cases.py [--output FILE]     (Python 3.11+, standard library only)

lomad reads its TOML files with its own decoder (Sources/TOML). This records an independent
reading of the same texts by tomllib (the standard library's TOML 1.0 parser, tomli): for each
document, either the value it parses to, in the canonical form below, or null where tomllib
refuses it. `Tests/TOMLTests/TOMLConformanceTests.swift` parses every document with the Swift
decoder and must agree: same value, or also refused.

The documents are hand-written cases covering the spec, plus seeded mutations of them (characters
inserted, deleted and replaced: the edge cases a fuzzer finds), so regeneration is
byte-identical. Two deliberate differences are left out: a leading byte order mark (tomllib
refuses it; lomad skips it, as editors write one) and integers beyond 64 bits (tomllib keeps them;
TOML 1.0 requires an error, which lomad gives). Canonical form: `s:` + hex code points, `i:` integer, `f:` + the IEEE-754 bit
pattern (`f:nan` for any NaN), `b:true`/`b:false`, `d` for any date-time (the Swift decoder keeps
those as text), `[a;b]`, `{key=value;...}` with keys sorted by code point.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import struct
import sys
import tomllib
from typing import Any

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPOSITORY, "Tests", "TOMLTests", "Fixtures", "toml_cases.json")

SEEDS = [
    'a = 1\n[b]\nc = "x"\n[[d]]\ne = 1\n[[d]]\ne = 2\n',
    'x.y.z = 1\nx.y.w = "a"\n[t]\nq = [1,2,[3,4]]\nr = {a = 1, b.c = 2}\n',
    's = """\nline\\\n   more"""\nl = \'\'\'\nlit\'\'\'\nh = 0xff\no = 0o7\nbb = 0b1\n',
    'dt = 1979-05-27T07:32:00Z\nd = 1979-05-27\nt = 07:32:00\nf = 1e10\nn = -0.0\n',
    '[a.b]\nc = 1\n[a]\nd = 2\n',
    '"quoted" = 1\n\'lit\' = 2\n[ "x" . y ]\nz = true\n',
    'arr = [\n  1, # c\n  2,\n]\nempty = []\ninl = {}\n',
    'endpoints = ["tcp://127.0.0.1:*", "ipc:///tmp/lomad.sock"]\n[store]\nmode = "memory"\nram_budget_bytes = 1_048_576\n',
    '[tenants.alice]\ncurve_keys = ["rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"]\nuids = [1001]\nquota_bytes = 1073741824\n',
    'e = "\\u00e9\\U0001F600\\t\\"\\\\"\nf = 6.626e-34\ng = +inf\nh = -nan\ni = 9_223_372_036_854_775_807\n',
    'a = 1979-05-27 07:32:00.999-08:00\nb = 00:32:00.5\n[[x.y]]\n[x.y.z]\nk = 1\n',
]

# Hand-picked texts, valid and not, beyond what mutation reaches easily.
CASES = [
    "", "# only a comment\n", "a = 1\r\n", "a = 1\r", "a = 1 b = 2", "a =", "= 1", "a.b.c = 1\na.b.d = 2",
    "a = 01", "a = 0", "a = -0", "a = +0x1", "a = 0x", "a = 0b102", "a = 0o8", "a = 1__2", "a = _1", "a = 1_",
    "a = 9223372036854775808", "a = -9223372036854775808", "a = 1.", "a = .1", "a = 1e", "a = 1e+",
    "a = 1.5e-3_0", "a = 1_0.0_1e1_0", "a = 00.1", "a = inf", "a = nan", "a = -inf", "a = infinity",
    "a = true", "a = True", "a = tru", "a = falsey", "a = 'x'", "a = 'x\ny'", 'a = "\\x"', 'a = "\\uD800"',
    'a = "\\U00110000"', 'a = "\\u00E9"', 'a = """"x""""', 'a = """x""""""', "a = ''''x''''", "a = '''''x'''",
    'a = """\\\n\n  x"""', 'a = """\\   \n x"""', 'a = """\\ x"""', "a = 1979-05-27", "a = 1979-5-27",
    "a = 1979-05-27T25:00:00", "a = 1979-05-27T07:32", "a = 07:32", "a = 1979-05-27t07:32:00z",
    "a = 1979-05-27T07:32:00+24:00", "a = 1979-02-30", "a = [1,,2]", "a = [,]", "a = [1 2]", "a = [\n]",
    "a = { }", "a = {a=1,}", "a = {a=1\n}", "a = {a.b=1, a.c=2}", "a = {a.b=1, a={}}", "a = {a=1}\na.b=2",
    "[a]\n[a]", "[a.b]\n[a]", "[a]\n[a.b]\n[a]", "[[a]]\n[a]", "[a]\n[[a]]", "a = []\n[[a]]", "[[a.b]]\n[a]\nb = 1",
    "[a]\nb.c = 1\n[a.b]", "[a]\nb.c = 1\n[a.b.d]", "[a.b.c]\n[a]\nb.d = 1", "a.b = 1\n[a]", "a.b = 1\n[a.c]",
    "[ a . b ]", "[a.]", "[.a]", "[]", "[[]]", "[a]]", "[[a]", "[a] x", "[a] # c", '["a"]\n[a]', "['a.b']\nc=1",
    "a = 1 # \x7f", "a = 1 # \t ok", "a = \"\x01\"", "a = \"\t\"", "a\u00e9 = 1", "\"a\u00e9\" = 1",
    "1 = 2", "1.2 = 3", "-_ = 1", "true = false", "inf = nan", "a = [1, 'a', [2], {b = 3}]",
    "a = \"\"\"\r\nx\r\n\"\"\"", "a = '''\r\nx'''", "a = 1\n\n\n[b]\n\n", "\n\n\n",
]

CHARS = list('[]{}=.,"\'#\n \t\\abc123_-+:eExob') + ["\r\n", "true", "false", "inf", "nan", '"""', "'''", "\\u00e9", "é", "\x00", "\x01"]


def render(value: Any) -> str:
    if isinstance(value, bool):
        return f"b:{str(value).lower()}"
    if isinstance(value, str):
        return "s:" + ",".join(format(ord(c), "x") for c in value)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            # TOML 1.0: "If an integer cannot be represented losslessly, an error must be thrown";
            # tomllib keeps Python's unbounded ints, lomad (like the spec) refuses them.
            raise OverflowError(value)
        return f"i:{value}"
    if isinstance(value, float):
        return "f:nan" if math.isnan(value) else f"f:{struct.unpack('<Q', struct.pack('<d', value))[0]}"
    if isinstance(value, list):
        return "[" + ";".join(render(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ";".join(f"{key}={render(value[key])}" for key in sorted(value)) + "}"
    return "d"  # datetime, date, time


def reading(text: str) -> str | None:
    try:
        return render(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, OverflowError):
        return None


def mutants(count: int, rng: random.Random) -> list[str]:
    texts = []
    for index in range(count):
        chars = list(rng.choice(SEEDS))
        # Every other one has a single edit, so that many stay valid and their values are compared.
        for _ in range(1 if index % 2 else rng.randint(2, 6)):
            position = rng.randrange(len(chars) + 1)
            operation = rng.random()
            if operation < 0.4 and chars:
                del chars[min(position, len(chars) - 1)]
            elif operation < 0.8:
                chars.insert(position, rng.choice(CHARS))
            else:
                chars[min(position, len(chars) - 1)] = rng.choice(CHARS)
        texts.append("".join(chars))
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    parser.add_argument("--mutants", type=int, default=600)
    arguments = parser.parse_args(argv)
    texts = list(dict.fromkeys(SEEDS + CASES + mutants(arguments.mutants, random.Random(15))))
    cases = [{"text": text, "expected": reading(text)} for text in texts]
    os.makedirs(os.path.dirname(arguments.output), exist_ok=True)
    with open(arguments.output, "w", encoding="utf-8") as handle:
        json.dump({"generator": "Tools/make_toml_cases.py", "python": sys.version.split()[0], "cases": cases},
                  handle, indent=0, ensure_ascii=True)
        handle.write("\n")
    valid = sum(case["expected"] is not None for case in cases)
    print(f"wrote {len(cases)} documents ({valid} valid for tomllib) to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
