"""`make bench`: every stage of the product timed beside DuckDB's floor and a pandas peer.

- `bench.run` — the command: workloads, runs, targets, `bench/RESULTS.md` (see bench/README.md).
- `bench.workload` — the workloads and the parameters every stage is run with.
- `bench.stages` — one function per stage, run in a fresh subprocess for its peak memory.
- `bench.peer` — the pandas peer of strikes, penalties and the spot check.
- `bench.profile` — where the time of a slow stage goes (`python -m bench.run --profile`).
"""
