"""Run every benchmark module that exists and print its figures (`make bench`).

Each module exposes `main() -> dict`. Benchmarks that need PostgreSQL read BENCH_DATABASE_URL
(default: a `refundloop_bench` database on 127.0.0.1) and create/drop their own database.
"""

import importlib
import json
import sys
import time

BENCHMARKS = ["benchmarks.api_create", "benchmarks.ops_queue_scale", "benchmarks.recon_1m"]


def main() -> int:
    results = {}
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        started = time.perf_counter()
        print(f"--- {name}", flush=True)
        results[name] = module.main()
        results[name]["_wall_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
