"""Prometheus metrics of one app: its own registry, never the process-global one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from shared.tenant import TenantContext

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PoolCollector(Collector):
    """Pool usage per tenant, read at scrape time."""

    def __init__(self, contexts: Iterable[TenantContext]) -> None:
        self.contexts = list(contexts)

    def collect(self) -> Iterator[Metric]:
        in_use = GaugeMetricFamily("onebox_db_pool_in_use", "Connections checked out", labels=["tenant"])
        idle = GaugeMetricFamily("onebox_db_pool_idle", "Idle pooled connections", labels=["tenant"])
        size = GaugeMetricFamily("onebox_db_pool_size", "Configured pool size", labels=["tenant"])
        waiting = GaugeMetricFamily("onebox_db_pool_waiting", "Requests waiting for a connection", labels=["tenant"])
        for ctx in self.contexts:
            stats = ctx.db.stats()
            in_use.add_metric([ctx.name], stats["checked_out"])
            idle.add_metric([ctx.name], stats["idle"])
            size.add_metric([ctx.name], stats["size"])
            waiting.add_metric([ctx.name], stats["waiting"])
        yield from (in_use, idle, size, waiting)


class Metrics:
    """Request metrics, labelled by tenant and route template."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "onebox_http_requests",
            "HTTP requests",
            ["tenant", "route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "onebox_http_request_duration_seconds",
            "HTTP request latency",
            ["tenant", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.websockets = Gauge(
            "onebox_websocket_connections", "Open WebSocket connections", ["tenant"], registry=self.registry
        )
        self._children: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}

    def observe(self, tenant: str, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        key = (tenant, route, method, status)
        children = self._children.get(key)
        if children is None:
            # labels() validates and locks on every call; the label sets are few (route templates).
            children = self._children[key] = (
                self.requests.labels(tenant, route, method, str(status)),
                self.latency.labels(tenant, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    async def endpoint(self, _request: Request) -> Response:
        """``GET /metrics`` in the Prometheus text format."""
        return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4; charset=utf-8")
