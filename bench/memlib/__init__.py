"""Helpers of bench/memory.py: starting the box two ways, and the mixed load it runs under."""
