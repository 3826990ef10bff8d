"""The feed's XRPC subset (``/feed/xrpc/<nsid>``): one module per method, answers shaped by the lexicons."""
