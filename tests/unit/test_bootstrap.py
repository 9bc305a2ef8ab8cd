"""The composition root: the production wiring over whatever adapters it is given."""

from __future__ import annotations

import importlib
import logging
import threading

from siyu import bootstrap
from siyu.services.card_alerts import CardAlertService
from tests.fakes import FakeCloud


def test_importing_configures_nothing() -> None:
    logger = logging.getLogger()
    handlers = list(logger.handlers)
    for handler in handlers:  # configure() is idempotent: start from no handler at all
        logger.removeHandler(handler)
    try:
        importlib.reload(bootstrap)
        assert logger.handlers == []
        assert bootstrap._root is None  # noqa: SLF001 (nothing built until asked)
    finally:
        for handler in handlers:
            logger.addHandler(handler)


def test_concurrent_cold_requests_build_each_service_once() -> None:
    root = FakeCloud().root()
    start = threading.Barrier(16)
    built: list[CardAlertService] = []

    def first_request() -> None:
        start.wait()
        built.append(root.card_alerts())

    threads = [threading.Thread(target=first_request) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 16 and len({id(s) for s in built}) == 1
    assert root.nearby_groups() is root.card_alerts()._directory  # noqa: SLF001


def test_installed_root_is_what_entry_points_get_until_reset() -> None:
    fake = FakeCloud().root()
    bootstrap.install(fake)
    assert bootstrap.root() is fake
    bootstrap.reset()
    assert bootstrap.root() is not fake


def test_per_topic_publishers_are_built_once_per_name() -> None:
    cloud = FakeCloud()
    root = cloud.root()
    assert root.topic("a") is root.topic("a") and root.topic("a") is not root.topic("b")
    assert root.publisher() is root.topic(root.settings.topic_wecom_events)
