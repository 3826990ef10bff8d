"""Vedic chart computation: pure functions, no I/O; the ephemeris loads on first use."""

from tenants.astro.charts.chart import Birth, compute_chart

__all__ = ["Birth", "compute_chart"]
