#!/usr/bin/env python3
"""Side-by-side: the Python agent-airlock sanitizer vs `airlock sanitize`, same texts.

Usage (from the repository root):  python3 benches/compare/run.py

Installs the Python package (pinned below) into a virtualenv under target/, builds the
Rust CLI in release mode, generates the texts, and prints the
throughput of each and the ratio. Both are timed in-process around the sanitizing call
only (Python: `sanitize_output`, best of 3; Rust: `airlock sanitize --stats`, best of 5,
one fresh process each, so its pattern caches start cold).
"""
import os
import subprocess
import sys
import time
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.path.join(ROOT, "target", "compare")
VENV = os.path.join(TARGET, "venv")
PY_PACKAGE = "agent-airlock==0.10.26"

WORDS = ("the agent called a tool that reads files from workspace and returns their contents "
         "to model which then decides what next step should be version 1.4.2 released in 2024 "
         "with fixes for parser errors table rows were updated successfully while others failed "
         "because of timeouts retry later please see logs above").split()
PII = [
    "contact alice.smith@example.com today",
    "call (555) 123-4567 after lunch",
    "card 4111 1111 1111 1111 on file",
    "ssn 123-45-6789 verified",
    "from 203.0.113.42 at noon",
    "key AKIAZ6PW3QJ7HXN4KD2M rotated",
    "token ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234 revoked",
    "password=hunter22 leaked",
    "db postgres://app:Pa55w0rd@db.internal/prod down",
    "iban GB82 WEST 1234 5698 7654 32 paid",
]


def clean(n):
    out, x = [], 12345
    size = 0
    while size < n:
        x = (x * 1103515245 + 12345) % 2**32
        word = WORDS[(x >> 16) % len(WORDS)] + (". " if x % 13 == 0 else " ")
        if x % 97 == 0:
            word += "\n"
        out.append(word)
        size += len(word)
    return "".join(out)[:n]


def dense(n):
    out, i, size = [], 0, 0
    while size < n:
        part = PII[i % len(PII)] + ". "
        out.append(part)
        size += len(part)
        i += 1
    return "".join(out)[:n]


def corpus(n):
    """The corpus of realistic tool outputs (tests/fixtures/sanitize), over and over: a
    denser, more varied mix than `dense`."""
    import json
    path = os.path.join(ROOT, "tests", "fixtures", "sanitize", "corpus.jsonl")
    texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8")]
    out, size, i = [], 0, 0
    while size < n:
        t = texts[i % len(texts)] + "\n"
        out.append(t)
        size += len(t.encode())
        i += 1
    return "".join(out)


def repeated(unit):
    def make(n):
        return (unit * (n // len(unit) + 1))[:n]
    return make


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def setup():
    os.makedirs(TARGET, exist_ok=True)
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        venv.create(VENV, with_pip=True)
    sh(python, "-m", "pip", "install", "--quiet", PY_PACKAGE)
    sh("cargo", "build", "--quiet", "--release", "--features", "cli", cwd=ROOT)
    return python, os.path.join(ROOT, "target", "release", "airlock")


PY_TIMER = r"""
import sys, time
from agent_airlock.sanitizer import sanitize_output
text = open(sys.argv[1], encoding="utf-8").read()
sanitize_output(text[:10000])  # warm up
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    result = sanitize_output(text)
    best = min(best, time.perf_counter() - start)
print(best)
"""


def time_python(python, path):
    out = subprocess.run([python, "-c", PY_TIMER, path], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def time_rust(binary, path, runs=5):
    best = float("inf")
    for _ in range(runs):
        with open(path, "rb") as f:
            done = subprocess.run([binary, "sanitize", "--stats"], stdin=f, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, check=True)
        # "airlock: sanitized N bytes in T ms (...)"
        millis = float(done.stderr.split(" in ")[1].split(" ms")[0])
        best = min(best, millis / 1000)
    return best


def main():
    python, binary = setup()
    print(f"Python: {PY_PACKAGE} sanitize_output (default configuration)")
    print("Rust:   airlock sanitize --stats (default configuration)\n")
    texts = (
        ("clean", clean, 1 << 20),
        ("dense", dense, 1 << 20),
        ("corpus", corpus, 1 << 20),
        # Built to be slow: digit groups that start cards and phones, keyword contexts.
        ("adv-digits", repeated("1-2-"), 100 << 10),
        ("adv-keys", repeated("key: "), 100 << 10),
    )
    print(f"{'text':<10} {'size':>10} {'python MB/s':>12} {'rust MB/s':>10} {'ratio':>8}")
    for name, make, py_size in texts:
        py_text = make(py_size)
        rs_text = make(16 << 20)
        py_path = os.path.join(TARGET, f"{name}-python.txt")
        rs_path = os.path.join(TARGET, f"{name}-rust.txt")
        open(py_path, "w", encoding="utf-8").write(py_text)
        open(rs_path, "w", encoding="utf-8").write(rs_text)
        py = len(py_text.encode()) / time_python(python, py_path) / 1e6
        rust_time = time_rust(binary, rs_path)
        rs = len(rs_text.encode()) / rust_time / 1e6
        size = f"{py_size >> 10} KB/16 MB"
        print(f"{name:<10} {size:>10} {py:>12.2f} {rs:>10.1f} {rs / py:>7.0f}x")


if __name__ == "__main__":
    sys.exit(main())
