"""Prometheus metrics of the watcher, served on 127.0.0.1 only, labelled by service."""

from __future__ import annotations

import time
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
                                  "Wall time of one health check (a native probe or a "
                                  "podman healthcheck run)", labels,
                                  registry=self.registry,
                                  buckets=(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30))
        self.restarts = Counter("phoenix_restarts_total", "Restarts made by the watcher",
                                ["service", "result"], registry=self.registry)
        self.circuit = Gauge("phoenix_circuit_state", "Circuit breaker: 0 closed, 1 half-open, "
                             "2 open", labels, registry=self.registry)
        self.healthy = Gauge("phoenix_service_healthy", "1 when healthy (or running without a "
                             "healthcheck), else 0", labels, registry=self.registry)
        self.oom_kills = Counter("phoenix_oom_kills_total", "OOM kills seen by the watcher "
                                 "(kernel log or cgroup counter)", labels,
                                 registry=self.registry)
        self.cascades = Counter("phoenix_cascade_restarts_total", "Restarts of dependents "
                                "after a dependency was restarted (depends_on restart: true)",
                                labels, registry=self.registry)
        self.drift = Gauge("phoenix_drift_services", "Services whose containers differ from "
                           "the validated compose.yaml (orphans and missing included)",
                           registry=self.registry)
        self.lag = Histogram("phoenix_check_lag_seconds", "How late a health check ran "
                             "against its schedule", registry=self.registry,
                             buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))
        self.backup_age = Gauge("phoenix_backup_age_seconds", "Seconds since the last good "
                                "backup (scheduled backups of a plugin such as db)", labels,
                                registry=self.registry)
        self.last_backup: dict[str, float] = {}
        started = start_http_server(port, addr=addr, registry=self.registry)
        self.server = started[0] if isinstance(started, tuple) else None

    def update(self, statuses: dict[str, Any]) -> None:
        for service, at in self.last_backup.items():
            self.backup_age.labels(service).set(max(0.0, time.time() - at))
        for name, status in statuses.items():
            if status.response_time is not None:
                self.checks.labels(name, status.status).inc()
                self.duration.labels(name).observe(status.response_time)
            self.healthy.labels(name).set(1 if status.ok else 0)
            self.circuit.labels(name).set(_CIRCUIT.get(status.circuit, 0))

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind in ("restart_succeeded", "restart_failed"):
            self.restarts.labels(event["service"], kind.split("_")[1]).inc()
        if kind == "restart_succeeded" and event.get("cascade"):
            self.cascades.labels(event["service"]).inc()
        elif kind == "oom_killed":
            self.oom_kills.labels(event["service"]).inc()
        elif kind == "drift_checked":
            self.drift.set(len(event["drifted"]))
        elif kind == "backup_taken" and event.get("at") is not None:
            self.last_backup[event["service"]] = float(event["at"])
            self.backup_age.labels(event["service"]).set(0)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
