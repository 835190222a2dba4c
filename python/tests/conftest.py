"""Fixtures shared by the test files: the shared data folder, found as the Rust tests find
it (``ebm_data::data_dir::for_tests``), and a probe of whether a call releases the GIL."""

import os
import threading
from pathlib import Path

import pytest


def _locate(data, subdir):
    """``data/subdir``; a relative ``data`` is looked up from the working directory and then
    from its ancestors (``EBM_DATA=../shared/data`` holds from the project root)."""
    data = Path(data)
    if data.is_absolute():
        return data / subdir
    cwd = Path.cwd()
    for ancestor in [cwd, *cwd.parents]:
        candidate = ancestor / data / subdir
        if candidate.is_dir():
            return candidate
    return data / subdir


@pytest.fixture
def shared_data():
    """``shared_data("uai")``: the folder ``$EBM_DATA/uai``. Without ``EBM_DATA`` the test is
    skipped, unless ``EBM_REQUIRE_DATA=1`` (CI), which makes missing data a failure; an
    ``EBM_DATA`` without the folder is a failure too."""

    def find(subdir):
        data = os.environ.get("EBM_DATA")
        if not data:
            if os.environ.get("EBM_REQUIRE_DATA") == "1":
                pytest.fail("EBM_REQUIRE_DATA=1 but EBM_DATA is not set")
            pytest.skip("EBM_DATA not set")
        folder = _locate(data, subdir)
        if not folder.is_dir():
            pytest.fail(f"{folder}: not a directory (EBM_DATA is set but has no {subdir}/)")
        return folder

    return find


@pytest.fixture
def ticks_during():
    """``ticks_during(work)``: run ``work()`` while another Python thread ticks every
    millisecond, and return the ticks. A call that holds the GIL leaves almost none."""

    def run(work):
        ticks, stop = [], threading.Event()

        def tick():
            while not stop.is_set():
                ticks.append(1)
                stop.wait(0.001)

        thread = threading.Thread(target=tick)
        thread.start()
        try:
            work()
        finally:
            stop.set()
            thread.join()
        return len(ticks)

    return run
