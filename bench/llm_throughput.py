"""Throughput of the OpenAI-compatible backend vs concurrency, against a local server with a fixed latency.

The server (tinyhelen.llm.LocalChatServer) runs in its own process on 127.0.0.1 and answers every request after
`--latency` seconds, so the ideal rate at concurrency c is c / latency. For each c the script sends `--per-slot` x c
requests through the real `openai` client (cache off) and prints achieved/ideal. It then checks resumption: the same
requests sent twice through the on-disk cache reach the server once.

    .venv/bin/python bench/llm_throughput.py --latency 0.2 --concurrency 1 8 64 --out bench/results/llm_throughput_0.2.md
"""
import argparse
import os
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinyhelen.core import atomic_write
from tinyhelen.llm import LLMConfig, Request, make_backend

SERVER = """
import sys, json, time
from tinyhelen.llm import LocalChatServer
with LocalChatServer(latency=float(sys.argv[1])) as srv:
    print(srv.base_url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--per-slot", type=int, default=4, help="requests per concurrency slot")
    ap.add_argument("--out", help="also write the table (markdown) here")
    a = ap.parse_args()
    srv = subprocess.Popen([sys.executable, "-c", SERVER, str(a.latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    base_url = srv.stdout.readline().strip()
    rows = []
    try:
        make_backend(LLMConfig(model="local", base_url=base_url, cache_dir=None)).generate([Request.user("warm-up")])  # imports, first connection
        for c in a.concurrency:
            n = a.per_slot * c
            be = make_backend(LLMConfig(model="local", base_url=base_url, concurrency=c, cache_dir=None))
            reqs = [Request.user(f"c{c} request {i}") for i in range(n)]
            t = time.perf_counter()
            reps = be.generate(reqs)
            dt = time.perf_counter() - t
            assert all(r.ok for r in reps)
            ideal = c / a.latency
            rows.append({"concurrency": c, "requests": n, "seconds": round(dt, 2), "req_per_s": round(n / dt, 1),
                         "ideal_req_per_s": round(ideal, 1), "fraction_of_ideal": round(n / dt / ideal, 3)})
            print(rows[-1], flush=True)
        c = max(a.concurrency)  # the same load through the on-disk cache: every reply written (and fsynced) as it comes
        with tempfile.TemporaryDirectory(dir=".") as d:
            n = a.per_slot * c
            be = make_backend(LLMConfig(model="local", base_url=base_url, concurrency=c, cache_dir=d))
            t = time.perf_counter()
            assert all(r.ok for r in be.generate([Request.user(f"cached c{c} request {i}") for i in range(n)]))
            dt = time.perf_counter() - t
            ideal = c / a.latency
            rows.append({"concurrency": f"{c}, cache on", "requests": n, "seconds": round(dt, 2), "req_per_s": round(n / dt, 1),
                         "ideal_req_per_s": round(ideal, 1), "fraction_of_ideal": round(n / dt / ideal, 3)})
            print(rows[-1], flush=True)
        with tempfile.TemporaryDirectory() as d:
            cfg = LLMConfig(model="local", base_url=base_url, concurrency=64, cache_dir=d)
            reqs = [Request.user(f"resume {i}") for i in range(128)]
            first = make_backend(cfg); first.generate(reqs)
            second = make_backend(cfg); second.generate(reqs)
            resume = {"first_run_calls": first.usage.calls, "second_run_calls": second.usage.calls,
                      "second_run_cache_hits": second.usage.cache_hits}
            print(resume)
    finally:
        srv.stdin.close(); srv.wait(10)
    table = ["| concurrency | requests | seconds | req/s | ideal req/s | fraction of ideal |", "|---|---|---|---|---|---|"]
    table += [f"| {r['concurrency']} | {r['requests']} | {r['seconds']} | {r['req_per_s']} | {r['ideal_req_per_s']} | {r['fraction_of_ideal']:.1%} |" for r in rows]
    text = (f"Latency {a.latency} s per request (local server, own process). Load average at the end: "
            f"{os.getloadavg()[0]:.2f} (2 cores shared with other jobs).\n\n" + "\n".join(table) +
            f"\n\nResume: 128 requests twice through the cache: {json.dumps(resume)}\n")
    print(text)
    if a.out:
        with atomic_write(Path(a.out)) as f:
            f.write(text)


if __name__ == "__main__":
    main()
