"""Astro figures: chart computations per second on one core, and what astro costs the gateway in RSS.

Run: ``.venv/bin/python bench/astro_charts.py``. Each memory figure comes from a fresh process
that builds the gateway app (``ONEBOX_TENANTS`` without or with astro), then draws a chart (the
ephemeris loads) and then resolves coordinates (the time-zone boundaries load): the stages a
real gateway goes through as members use astro.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = r"""
import asyncio, json, os, sys, tempfile
import psutil
from datetime import UTC, datetime
from gateway import registry
from gateway.app import create_app
from shared.settings import Settings

def mem():
    info = psutil.Process().memory_full_info()
    return {"rss_mb": round(info.rss / 2**20, 1), "pss_mb": round(info.pss / 2**20, 1)}

tenants = [t for t in registry.TENANTS if sys.argv[1] == "with" or t != "astro"]
settings = Settings(_env_file=None, secret_key="x" * 48, tenants=tenants, data_dir=tempfile.mkdtemp(),
                    database_url="postgresql://nobody@127.0.0.1:9/none")
out = {"tenants": tenants, "imported": mem()}
create_app(settings)
out["app_built"] = mem()
if sys.argv[1] == "with":
    from tenants.astro.charts import Birth, compute_chart
    compute_chart(Birth(datetime(1990, 5, 17, 8, 30, tzinfo=UTC), 48.85, 2.35))
    out["after_first_chart"] = mem()
    from tenants.astro import places
    asyncio.run(places.at(48.85, 2.35, None))
    out["after_coordinates_lookup"] = mem()
print(json.dumps(out))
"""


def charts_per_second(seconds: float = 3.0, time_known: bool = True) -> float:
    """Charts computed per second in this (single-threaded) process."""
    from tenants.astro.charts import Birth, compute_chart

    start = datetime(1950, 1, 1, tzinfo=UTC)
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        moment = start + timedelta(hours=count * 7.3)
        day = moment.replace(hour=0, minute=0)
        compute_chart(Birth(moment, 12.97, 77.59, time_known, day, day + timedelta(days=1)))
        count += 1
    return count / (time.perf_counter() - began)


def gateway_memory(variant: str) -> dict[str, object]:
    """Memory stages of a fresh gateway process, ``without`` or ``with`` astro."""
    done = subprocess.run(
        [sys.executable, "-c", STAGES, variant], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Print the figures."""
    print(f"charts/s, birth time known:   {charts_per_second():8.0f}")
    print(f"charts/s, birth time unknown: {charts_per_second(time_known=False):8.0f}")
    without, with_astro = gateway_memory("without"), gateway_memory("with")
    print("gateway memory (MB):")
    for label, doc in (("without astro", without), ("with astro", with_astro)):
        for stage, value in doc.items():
            if stage != "tenants":
                print(f"  {label:14} {stage:26} RSS {value['rss_mb']:6.1f}  PSS {value['pss_mb']:6.1f}")  # type: ignore[index]


if __name__ == "__main__":
    main()
