"""One processor per record collection, each with insert, delete and aggregate steps."""
