"""Prometheus metrics of the watcher, served on 127.0.0.1 only, labelled by service."""

from __future__ import annotations

from typing import Any

_CIRCUIT = {"closed": 0, "half-open": 1, "open": 2}


class WatchMetrics:
    def __init__(self, port: int, addr: str = "127.0.0.1") -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        from prometheus_client.exposition import start_http_server

        self.registry = CollectorRegistry()
        labels = ["service"]
        self.checks = Counter("phoenix_health_checks_total", "Health checks run by the watcher",
                              ["service", "status"], registry=self.registry)
        self.duration = Histogram("phoenix_health_check_duration_seconds",
                                  "Wall time of one podman healthcheck run", labels,
                                  registry=self.registry,
                                  buckets=(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30))
        self.restarts = Counter("phoenix_restarts_total", "Restarts made by the watcher",
                                ["service", "result"], registry=self.registry)
        self.circuit = Gauge("phoenix_circuit_state", "Circuit breaker: 0 closed, 1 half-open, "
                             "2 open", labels, registry=self.registry)
        self.healthy = Gauge("phoenix_service_healthy", "1 when healthy (or running without a "
                             "healthcheck), else 0", labels, registry=self.registry)
        started = start_http_server(port, addr=addr, registry=self.registry)
        self.server = started[0] if isinstance(started, tuple) else None

    def update(self, statuses: dict[str, Any]) -> None:
        for name, status in statuses.items():
            if status.response_time is not None:
                self.checks.labels(name, status.status).inc()
                self.duration.labels(name).observe(status.response_time)
            self.healthy.labels(name).set(1 if status.ok else 0)
            self.circuit.labels(name).set(_CIRCUIT.get(status.circuit, 0))

    def on_event(self, event: dict[str, Any]) -> None:
        if event["type"] in ("restart_succeeded", "restart_failed"):
            self.restarts.labels(event["service"], event["type"].split("_")[1]).inc()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
