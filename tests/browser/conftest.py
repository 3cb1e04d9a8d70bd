"""Headless Chromium from Debian's packages for dash_duo, with no flag needed on the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selenium.webdriver.chrome.options import Options

CHROMIUM = "/usr/bin/chromium"
# What Chromium needs to run as root in a container, without reaching out to Google's services.
ARGUMENTS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)


def pytest_configure(config: pytest.Config) -> None:
    config.option.headless = True


def pytest_setup_options() -> Options:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ARGUMENTS:
        options.add_argument(argument)
    return options


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `make test` installs them (make browser); say so plainly rather than fail obscurely in the driver.
    here = Path(__file__).parent
    wanted = any(here in Path(item.path).parents for item in items)
    if wanted and not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise pytest.UsageError("the browser tests need Debian's chromium and chromium-driver: run `make browser`")
