"""``python -m tenants.feed.indexer``: the indexer without the CLI (settings from the environment)."""

from shared.settings import Settings
from tenants.feed.indexer import run_indexer

run_indexer(Settings())
