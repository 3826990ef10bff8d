"""The feed's Jetstream indexer (a separate process: ``onebox feed indexer``).

Pipeline: ``stream`` reads frames → ``events``/``records`` decode and check them →
``relevance`` keeps what the feed needs → ``writer`` applies batches through the per-collection
``processors`` (insert / delete / aggregate) with the cursor in the same transaction.
``backfill`` fetches accounts' history from their PDS; ``push`` delivers web push.
"""

from __future__ import annotations

from shared.settings import Settings


def run_indexer(settings: Settings) -> None:
    """`onebox feed indexer`: the worker entry point (imports the indexer only when it runs)."""
    from tenants.feed.indexer.main import run_indexer as run

    run(settings)
