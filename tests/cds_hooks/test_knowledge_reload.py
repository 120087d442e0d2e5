"""Hot reload: a changed knowledge folder is served without a restart; a broken one is refused."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from flask import Flask
from flask.testing import FlaskClient

from cds_hooks.app import create_app, start_knowledge_reload
from cds_hooks.cards import KNOWLEDGE_VERSION
from cds_hooks.config import Settings
from cds_hooks.knowledge_reload import KnowledgeHolder, KnowledgeWatcher, ReloadOutcome
from cds_hooks.state import EXTENSION_KEY
from knowledge import KnowledgeBase, KnowledgeLoadError
from knowledge.yaml_source import load_plain
from tests.builders import genotype_observation, hook_request, medication_request, pgx_prefetch
from tests.knowledge.small_knowledge import copy_knowledge
from tests.serving import kill_group, start_serve

# The clopidogrel slice of the bundled knowledge: the real files, loaded in milliseconds.
SLICE = ("drugs.yaml", "genes/CYP2C19.yaml", "guidelines/cpic-clopidogrel.yaml")
GUIDELINE = "guidelines/cpic-clopidogrel.yaml"
EDIT_MARK = "(edited for the reload test)"
WAIT_SECONDS = 10.0


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    return copy_knowledge(tmp_path / "knowledge", SLICE)


@pytest.fixture
def settings(tmp_path: Path, knowledge_dir: Path) -> Settings:
    # Polling off: each test triggers reloads itself, or starts a watcher that polls.
    return Settings(
        database_url=f"sqlite:///{tmp_path}/fb.sqlite3",
        knowledge_dir=knowledge_dir,
        knowledge_reload_interval=0,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    app.extensions[EXTENSION_KEY].feedback.close()


@pytest.fixture
def holder(app: Flask) -> KnowledgeHolder:
    holder = app.extensions[EXTENSION_KEY].knowledge
    assert isinstance(holder, KnowledgeHolder)
    return holder


@pytest.fixture
def watchers() -> Iterator[list[KnowledgeWatcher]]:
    """Watchers a test starts; stopped (and SIGHUP handed back) however the test ends."""
    started: list[KnowledgeWatcher] = []
    yield started
    for watcher in started:
        watcher.stop()


def edit_recommendation(folder: Path) -> None:
    """Append a mark to the poor-metabolizer recommendations (the text a *2/*2 card shows)."""
    path = folder / GUIDELINE
    data = load_plain(path.read_text(encoding="utf-8"))
    for rec in data["recommendations"]:
        if rec["lookup_key"].get("CYP2C19") == "Poor Metabolizer":
            rec["recommendation"] += f" {EDIT_MARK}"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def break_strength(folder: Path) -> None:
    path = folder / GUIDELINE
    data = load_plain(path.read_text(encoding="utf-8"))
    data["recommendations"][0]["strength"] = "strongest"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def poor_metabolizer_card(client: FlaskClient, diplotype: str = "*2/*2") -> dict[str, Any]:
    body = hook_request(
        medication_request(id="rx-7"),
        prefetch=pgx_prefetch(genotype_observation("CYP2C19", diplotype)),
    )
    response = client.post("/cds-services/pgx-order-sign", json=body)
    assert response.status_code == 200, response.get_json()
    (card,) = response.get_json()["cards"]
    assert isinstance(card, dict)
    return card


def readyz_knowledge(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/readyz")
    assert response.status_code == 200
    knowledge = response.get_json()["knowledge"]
    assert isinstance(knowledge, dict)
    return knowledge


def eventually(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until true; fail after a bounded wait (no sleep is an assertion)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {WAIT_SECONDS} s")
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("diplotype", "indicator"),
    [("*2/*2", "warning"), ("*2/*999", "info")],  # advice, and "could not be interpreted"
)
def test_every_card_names_the_knowledge_version(
    client: FlaskClient, holder: KnowledgeHolder, diplotype: str, indicator: str
) -> None:
    card = poor_metabolizer_card(client, diplotype)

    assert card["indicator"] == indicator
    assert card["extension"] == {KNOWLEDGE_VERSION: holder.current.version}


def test_a_changed_folder_is_served_after_a_reload(
    client: FlaskClient,
    holder: KnowledgeHolder,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = readyz_knowledge(client)
    assert poor_metabolizer_card(client)["extension"] == {KNOWLEDGE_VERSION: old["version"]}
    edit_recommendation(knowledge_dir)
    caplog.set_level(logging.INFO)

    assert holder.reload() is ReloadOutcome.RELOADED

    new = readyz_knowledge(client)
    assert new["version"] != old["version"]
    assert new["version"] == holder.current.version
    assert new["loadedAt"] >= old["loadedAt"]
    card = poor_metabolizer_card(client)
    assert card["extension"] == {KNOWLEDGE_VERSION: new["version"]}
    assert EDIT_MARK in card["detail"]
    (record,) = [r for r in caplog.records if r.message == "knowledge reloaded"]
    assert (record.old_version, record.new_version) == (old["version"], new["version"])  # type: ignore[attr-defined]


def test_an_unchanged_folder_keeps_the_instance_serving(holder: KnowledgeHolder) -> None:
    serving = holder.current

    assert holder.reload() is ReloadOutcome.UNCHANGED
    assert holder.reload_if_changed() is None
    assert holder.current is serving


def test_a_broken_folder_is_refused_and_the_last_good_version_keeps_serving(
    client: FlaskClient,
    holder: KnowledgeHolder,
    knowledge_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = holder.current.version
    break_strength(knowledge_dir)
    caplog.set_level(logging.INFO)

    assert holder.reload() is ReloadOutcome.REFUSED

    (record,) = [r for r in caplog.records if r.message == "knowledge reload refused"]
    assert record.levelno == logging.ERROR
    assert record.error_count == 1  # type: ignore[attr-defined]
    (error,) = record.errors  # type: ignore[attr-defined]
    assert f"{knowledge_dir}/{GUIDELINE}:" in error
    assert "'strongest' is not one of" in error
    assert record.serving_version == good  # type: ignore[attr-defined]
    status = readyz_knowledge(client)
    assert status["version"] == good
    assert status["lastRefusedReload"]["errorCount"] == 1
    assert status["lastRefusedReload"]["at"] >= status["loadedAt"]
    assert poor_metabolizer_card(client)["extension"] == {KNOWLEDGE_VERSION: good}


def test_a_refused_folder_is_judged_once_not_at_every_poll(
    holder: KnowledgeHolder, knowledge_dir: Path
) -> None:
    break_strength(knowledge_dir)

    assert holder.reload_if_changed() is ReloadOutcome.REFUSED
    assert holder.reload_if_changed() is None


def test_a_good_folder_after_a_refused_one_clears_the_refusal(
    client: FlaskClient, holder: KnowledgeHolder, knowledge_dir: Path
) -> None:
    original = (knowledge_dir / GUIDELINE).read_bytes()
    break_strength(knowledge_dir)
    assert holder.reload() is ReloadOutcome.REFUSED
    (knowledge_dir / GUIDELINE).write_bytes(original)

    assert holder.reload() is ReloadOutcome.UNCHANGED

    assert "lastRefusedReload" not in readyz_knowledge(client)


def test_a_request_in_flight_keeps_the_version_it_started_with(
    app: Flask,
    client: FlaskClient,
    holder: KnowledgeHolder,
    knowledge_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cds_hooks import hooks

    evaluating, reloaded = threading.Event(), threading.Event()
    real_evaluate = hooks.evaluate

    def evaluate_after_the_reload(*args: Any, **kwargs: Any) -> Any:
        evaluating.set()
        if not reloaded.wait(WAIT_SECONDS):
            raise TimeoutError("the test never reloaded")
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(hooks, "evaluate", evaluate_after_the_reload)
    answers: list[dict[str, Any]] = []
    in_flight = threading.Thread(target=lambda: answers.append(poor_metabolizer_card(client)))
    old = holder.current.version
    in_flight.start()
    try:
        assert evaluating.wait(WAIT_SECONDS)
        edit_recommendation(knowledge_dir)
        assert holder.reload() is ReloadOutcome.RELOADED
    finally:
        reloaded.set()
        in_flight.join(WAIT_SECONDS)

    (card,) = answers
    assert card["extension"] == {KNOWLEDGE_VERSION: old}
    assert EDIT_MARK not in card["detail"]
    after = poor_metabolizer_card(app.test_client())
    assert after["extension"] == {KNOWLEDGE_VERSION: holder.current.version}
    assert EDIT_MARK in after["detail"]


def test_the_watcher_reloads_a_changed_folder_and_refuses_a_broken_one(
    client: FlaskClient,
    holder: KnowledgeHolder,
    knowledge_dir: Path,
    watchers: list[KnowledgeWatcher],
) -> None:
    old = holder.current.version
    watcher = KnowledgeWatcher(holder, interval=0.01)
    watchers.append(watcher)
    watcher.start()

    edit_recommendation(knowledge_dir)
    eventually(lambda: readyz_knowledge(client)["version"] != old, "the edited version")
    new = holder.current.version
    assert poor_metabolizer_card(client)["extension"] == {KNOWLEDGE_VERSION: new}

    break_strength(knowledge_dir)
    eventually(lambda: "lastRefusedReload" in readyz_knowledge(client), "the refusal")
    assert readyz_knowledge(client)["version"] == new
    assert poor_metabolizer_card(client)["extension"] == {KNOWLEDGE_VERSION: new}


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="SIGHUP is POSIX only")
def test_sighup_reloads_in_process_and_the_handler_is_handed_back(
    app: Flask, holder: KnowledgeHolder, knowledge_dir: Path, watchers: list[KnowledgeWatcher]
) -> None:
    previous = signal.getsignal(signal.SIGHUP)
    old = holder.current.version
    watcher = start_knowledge_reload(app, sighup=True)  # polling is off in these settings
    assert watcher is not None
    watchers.append(watcher)
    edit_recommendation(knowledge_dir)

    signal.raise_signal(signal.SIGHUP)

    eventually(lambda: holder.current.version != old, "the reload SIGHUP asked for")
    watcher.stop()
    assert signal.getsignal(signal.SIGHUP) == previous


def test_the_bundled_knowledge_is_not_reloadable(
    tmp_path: Path, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    bundled = create_app(Settings(database_url=f"sqlite:///{tmp_path}/b.sqlite3"), kb)
    state = bundled.extensions[EXTENSION_KEY]
    caplog.set_level(logging.INFO)
    try:
        assert start_knowledge_reload(bundled, sighup=False) is None
        assert state.knowledge.reload() is ReloadOutcome.NOT_RELOADABLE
    finally:
        state.feedback.close()
    assert "not reloadable" in caplog.text
    assert state.knowledge.current is kb


def test_a_broken_folder_still_stops_start_up(settings: Settings, knowledge_dir: Path) -> None:
    break_strength(knowledge_dir)

    with pytest.raises(KnowledgeLoadError, match="'strongest' is not one of"):
        create_app(settings)


def test_a_folder_changing_while_it_is_read_is_judged_on_the_next_poll(
    holder: KnowledgeHolder, knowledge_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cds_hooks import knowledge_reload

    real_load = knowledge_reload.load_knowledge_base
    old = holder.current.version

    def load_while_a_copy_lands(directory: Path | None) -> KnowledgeBase:
        loaded = real_load(directory)
        monkeypatch.setattr(knowledge_reload, "load_knowledge_base", real_load)
        edit_recommendation(knowledge_dir)  # lands after the read began
        return loaded

    (knowledge_dir / GUIDELINE).touch()
    monkeypatch.setattr(knowledge_reload, "load_knowledge_base", load_while_a_copy_lands)

    assert holder.reload_if_changed() is ReloadOutcome.CHANGING
    assert holder.current.version == old
    assert holder.reload_if_changed() is ReloadOutcome.RELOADED


def test_a_kubernetes_style_symlink_swap_is_seen(tmp_path: Path, knowledge_dir: Path) -> None:
    # A ConfigMap volume: files are links through ..data, which is swapped atomically on update.
    mount = tmp_path / "mount"
    shutil.copytree(knowledge_dir, mount / "..v1")
    (mount / "..data").symlink_to("..v1")
    for name in ("drugs.yaml", "genes", "guidelines"):
        (mount / name).symlink_to(f"..data/{name}")
    holder = KnowledgeHolder.load(mount)
    old = holder.current.version
    shutil.copytree(mount / "..v1", mount / "..v2")
    edit_recommendation(mount / "..v2")
    (mount / "..data_tmp").symlink_to("..v2")

    os.replace(mount / "..data_tmp", mount / "..data")

    assert holder.reload_if_changed() is ReloadOutcome.RELOADED
    assert holder.current.version != old


@pytest.mark.slow
def test_gunicorn_keeps_the_last_good_version_through_a_hup_with_a_broken_folder(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """Workers reload by polling; ``kill -HUP <master>`` with a broken folder drops no request."""
    env = {
        "PGX_CDS_DATABASE_URL": f"sqlite:///{tmp_path}/fb.sqlite3",
        "PGX_CDS_KNOWLEDGE_DIR": str(knowledge_dir),
        "PGX_CDS_KNOWLEDGE_RELOAD_INTERVAL": "0.1",
    }
    log = tmp_path / "server.log"
    master, base = start_serve(tmp_path, env, workers=2, log=log)
    try:
        old = requests.get(f"{base}/readyz", timeout=5).json()["knowledge"]["version"]

        def every_worker(condition: Callable[[dict[str, Any]], bool]) -> bool:
            # Requests land on either worker: twenty in a row make missing one unlikely.
            return all(
                condition(requests.get(f"{base}/readyz", timeout=5).json()["knowledge"])
                for _ in range(20)
            )

        edit_recommendation(knowledge_dir)
        eventually(lambda: every_worker(lambda k: k["version"] != old), "workers on the edit")
        good = requests.get(f"{base}/readyz", timeout=5).json()["knowledge"]["version"]
        break_strength(knowledge_dir)
        eventually(lambda: every_worker(lambda k: "lastRefusedReload" in k), "the refusal")

        statuses: list[int | str] = []
        stop = threading.Event()
        body = hook_request(
            medication_request(id="rx-7"),
            prefetch=pgx_prefetch(genotype_observation("CYP2C19", "*2/*2")),
        )

        def keep_calling() -> None:
            while not stop.is_set():
                try:
                    response = requests.post(
                        f"{base}/cds-services/pgx-order-sign", json=body, timeout=10
                    )
                    version = response.json()["cards"][0]["extension"][KNOWLEDGE_VERSION]
                    statuses.append(response.status_code if version == good else version)
                except Exception as exc:  # any failure is a dropped request: record, not raise
                    statuses.append(repr(exc))

        caller = threading.Thread(target=keep_calling)
        caller.start()
        try:
            booted = log.read_text().count("Booting worker")
            os.kill(master.pid, signal.SIGHUP)
            eventually(lambda: log.read_text().count("Booting worker") >= booted + 2, "new workers")
            eventually(lambda: every_worker(lambda k: k["version"] == good), "new workers serving")
        finally:
            stop.set()
            caller.join(WAIT_SECONDS)

        assert master.poll() is None, log.read_text()
        assert statuses
        assert set(statuses) == {200}
        assert every_worker(lambda k: "lastRefusedReload" in k)
    finally:
        kill_group(master)
