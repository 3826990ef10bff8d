"""``python -m tenants.feed.indexer``: the indexer without the CLI (settings from the environment)."""

from shared.settings import load_settings
from tenants.feed.indexer import run_indexer

run_indexer(load_settings())
