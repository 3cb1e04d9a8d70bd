"""Prometheus metrics computed from the store on every scrape.

A custom Collector rather than in-process counters: gunicorn runs several web processes and none of them runs
probes, so only the store knows the truth, and every process reports the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dashapp import snapshot
from dashapp.reader import Reader, Unavailable
from jobs.settings import Settings

PREFIX = "hybrid_monitor"


class StoreCollector(Collector):
    def __init__(self, reader: Reader, settings: Settings) -> None:
        self.reader = reader
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        store_up = GaugeMetricFamily(f"{PREFIX}_store_up", "1 when the web could read the results store")
        try:
            snap = snapshot.read_board(self.reader, self.settings)
            failed = self.reader.failed_check_counts()
            open_incidents, notifications = self.reader.alert_counts()
        except Unavailable:
            store_up.add_metric([], 0)
            yield store_up
            return
        store_up.add_metric([], 1)
        yield store_up

        labels = ["service"]
        up = GaugeMetricFamily(
            f"{PREFIX}_up", "1 when the service's latest check is up or degraded and fresh", labels=labels
        )
        latency = GaugeMetricFamily(f"{PREFIX}_latency_seconds", "Latency of the latest check", labels=labels)
        checked = GaugeMetricFamily(
            f"{PREFIX}_last_check_timestamp_seconds", "Unix time of the latest stored check", labels=labels
        )
        stale = GaugeMetricFamily(f"{PREFIX}_stale", "1 when the worker stopped reporting this service", labels=labels)
        uptime = GaugeMetricFamily(f"{PREFIX}_uptime_24h_ratio", "Share of up checks over 24 h", labels=labels)
        failures = CounterMetricFamily(f"{PREFIX}_failed_checks", "Checks that failed (down)", labels=labels)
        for view in snap.views:
            service = [view.service]
            up.add_metric(service, 1 if view.is_up else 0)
            stale.add_metric(service, 1 if view.status == "stale" else 0)
            failures.add_metric(service, failed.get(view.service, 0))
            if view.result is not None:
                latency.add_metric(service, view.result.latency_ms / 1000)
                checked.add_metric(service, view.result.checked_at.timestamp())
            if snap.uptime_24h.get(view.service) is not None:
                uptime.add_metric(service, snap.uptime_24h[view.service])
        yield from (up, latency, checked, stale, uptime, failures)
        yield from self._locations(snap)
        yield from self._alerting(snap.views, open_incidents, notifications)

    @staticmethod
    def _locations(snap: snapshot.Snapshot) -> Iterator[Metric]:
        """With several probing locations, each service at each location (the metrics above are across them:
        a service `partial` is not up)."""
        if not snap.by_location:
            return
        labels = ["service", "location"]
        up = GaugeMetricFamily(
            f"{PREFIX}_location_up",
            "1 when the latest check from this location is up or degraded and fresh",
            labels=labels,
        )
        stale = GaugeMetricFamily(f"{PREFIX}_location_stale", "1 when this location stopped reporting", labels=labels)
        latency = GaugeMetricFamily(
            f"{PREFIX}_location_latency_seconds", "Latency of the latest check from this location", labels=labels
        )
        uptime = GaugeMetricFamily(
            f"{PREFIX}_location_uptime_24h_ratio", "Share of up checks from this location over 24 h", labels=labels
        )
        for place, views in snap.by_location.items():
            for view in views:
                key = [view.service, place]
                up.add_metric(key, 1 if view.is_up else 0)
                stale.add_metric(key, 1 if view.status == "stale" else 0)
                if view.result is not None:
                    latency.add_metric(key, view.result.latency_ms / 1000)
                if snap.uptime_by_location.get((view.service, place)) is not None:
                    uptime.add_metric(key, snap.uptime_by_location[view.service, place])
        yield from (up, stale, latency, uptime)

    @staticmethod
    def _alerting(
        views: list[snapshot.ServiceView], open_incidents: dict[str, int], notifications: dict[str, tuple[int, int]]
    ) -> Iterator[Metric]:
        incidents = GaugeMetricFamily(f"{PREFIX}_open_incidents", "Open incidents of the service", labels=["service"])
        for view in views:
            incidents.add_metric([view.service], open_incidents.get(view.service, 0))
        channel = ["channel"]  # the Apprise URL, masked
        sent = CounterMetricFamily(f"{PREFIX}_notifications_sent", "Notifications a channel took", labels=channel)
        failed = CounterMetricFamily(
            f"{PREFIX}_notifications_failed", "Notification attempts that failed (or were given up)", labels=channel
        )
        for name, (ok, bad) in sorted(notifications.items()):
            sent.add_metric([name], ok)
            failed.add_metric([name], bad)
        yield from (incidents, sent, failed)


def blueprint(reader: Reader, settings: Settings) -> Blueprint:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(reader, settings))
    metrics = Blueprint("metrics", __name__)

    @metrics.get("/metrics")
    def scrape() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return metrics
