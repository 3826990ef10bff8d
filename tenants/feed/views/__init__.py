"""Lexicon-shaped reads: a skeleton query picks keys, SQL functions (migration 0002) hydrate and
present them, and the page comes back as JSON text that is passed through untouched.
"""
