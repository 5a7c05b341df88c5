"""Benchmark: CSV import throughput (rows/s) and peak memory on a generated message-per-row CSV.

The file is what a BI export looks like: rows in time order, so the rows of ~50 concurrent conversations are
interleaved and the importer has to group them (it spills rows to a temporary SQLite file to do that in bounded
memory). Each measurement runs in a fresh child process and reports its peak RSS. Side by side in the same run:
a bare ``csv.reader`` pass over the same file (the floor: parsing only), and the import of a file a tenth of the
size (peak memory should not grow with the file). Writes bench-results/import.json.

    python bench/bench_import.py [--mb 1024] [--keep FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = "conversation_id,timestamp,speaker,text,agent_id,agent_name,team,channel,language,csat,tags,queue\n"
LINES = {
    "customer": ["Hi, my order {n} arrived damaged, the screen is cracked.", "Where is my refund for order {n}?",
                 "I was charged twice this month, can you check?", "Sent. The box was crushed on one side.",
                 "Great, thanks.", "Can I change the delivery address to 12 Rue de la Paix, Paris?"],
    "agent": ["Hello, this is {a} from Northwind. I'm sorry to hear that!",
              "Could you send a photo of the box and the screen, please?",
              "Thank you. I've arranged a replacement; it ships today and arrives by Thursday.",
              "You'll get a prepaid label by email to return the damaged one within 30 days.",
              "Is there anything else I can help with? Have a good day!"],
}
AGENTS = [("a-1", "Maria Lopez", "Billing EMEA"), ("a-2", "Tom Berg", "Logistics"), ("a-3", "Kim Park", "Tier 2")]


def generate(path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write a CSV of about ``target_bytes``; returns the number of message rows."""
    rng = random.Random(seed)
    clock = datetime(2024, 1, 1, tzinfo=UTC)
    open_convs: list[list[object]] = []  # [id, messages left, agent]
    rows = written = 0
    next_id = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        written += f.write(HEADER)
        while written < target_bytes:
            while len(open_convs) < 50:
                open_convs.append([f"T-{next_id:08d}", rng.randint(6, 12), rng.choice(AGENTS)])
                next_id += 1
            conv = rng.choice(open_convs)
            speaker = "customer" if rng.random() < 0.45 else "agent"
            agent = conv[2]
            text = rng.choice(LINES[speaker]).format(n=rng.randint(1000, 9999), a=agent[1].split()[0])  # type: ignore[index]
            clock += timedelta(seconds=rng.randint(1, 20))
            ids = agent if speaker == "agent" else ("", "", "")  # type: ignore[assignment]
            line = (f"{conv[0]},{clock.isoformat()},{speaker},\"{text}\",{ids[0]},{ids[1]},{ids[2]},chat,en,"
                    f"{rng.randint(1, 5) if conv[1] == 1 else ''},\"vip,billing\",q{rng.randint(1, 9)}\n")
            written += f.write(line)
            rows += 1
            conv[1] = int(conv[1]) - 1  # type: ignore[call-overload]
            if conv[1] == 0:
                open_convs.remove(conv)
    return rows


def child_import(path: str, out: str) -> None:
    from scorer.importers import CsvOptions, Skipped, conversation_line, read_format

    conversations = skipped = 0
    with open(out, "w", encoding="utf-8") as sink:
        for item in read_format("csv", path, csv=CsvOptions()):
            if isinstance(item, Skipped):
                skipped += 1
            else:
                conversations += 1
                sink.write(conversation_line(item) + "\n")
    print(json.dumps({"conversations": conversations, "skipped": skipped, "peak_rss_mib": _own_peak_mib()}))


def _own_peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def child_parse(path: str) -> None:
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        count = sum(1 for _ in csv.reader(f)) - 1
    print(json.dumps({"rows": count, "peak_rss_mib": _own_peak_mib()}))


def measure(args: list[str]) -> dict[str, object]:
    """Run this script as a child with ``args``: wall time, and its JSON answer (with its own peak RSS)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return {"seconds": round(time.perf_counter() - start, 2), **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-import":
        child_import(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-parse":
        child_parse(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=1024, help="size of the generated CSV in MiB (default 1024)")
    parser.add_argument("--keep", type=Path, help="keep the generated file here")
    parser.add_argument("--tmp", type=Path, help="directory for the generated files (default: the system's)")
    args = parser.parse_args()
    results: dict[str, object] = {"mb": args.mb}
    with tempfile.TemporaryDirectory(prefix="bench-import-", dir=args.tmp) as tmp:
        big = args.keep or Path(tmp) / "big.csv"
        small = Path(tmp) / "small.csv"
        rows_small = generate(small, int(args.mb * 1024 * 1024 / 10))
        rows_big = generate(big, int(args.mb * 1024 * 1024))
        print(f"generated {big.stat().st_size / 2**20:.0f} MiB, {rows_big} rows; small: {rows_small} rows")
        small_run = measure(["--child-import", str(small), str(Path(tmp) / "small.jsonl")])
        parse_run = measure(["--child-parse", str(big)])
        big_run = measure(["--child-import", str(big), str(Path(tmp) / "big.jsonl")])
    results.update(
        rows=rows_big, import_seconds=big_run["seconds"], parse_seconds=parse_run["seconds"],
        import_rows_per_s=round(rows_big / float(big_run["seconds"])),  # type: ignore[arg-type]
        parse_rows_per_s=round(rows_big / float(parse_run["seconds"])),  # type: ignore[arg-type]
        import_vs_parse=round(float(big_run["seconds"]) / float(parse_run["seconds"]), 2),  # type: ignore[arg-type]
        conversations=big_run["conversations"], skipped=big_run["skipped"],
        peak_rss_mib_small_import=small_run["peak_rss_mib"], peak_rss_mib_big_import=big_run["peak_rss_mib"],
        peak_rss_mib_parse=parse_run["peak_rss_mib"], small_import_rows_per_s=round(
            rows_small / float(small_run["seconds"])),  # type: ignore[arg-type]
        rows_small=rows_small,
    )
    print(json.dumps(results, indent=1))
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "import.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
