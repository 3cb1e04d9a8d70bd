"""`python -m dashapp publish-assets` against moto's S3 server over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from deploy_paths import ROOT
from moto.server import ThreadedMotoServer

from jobs.settings import SettingsError, load_spaces
from sandbox.embedded import free_port

KEY_ID, SECRET = "DO00TESTSPACESKEY", "spaces-secret-for-tests"


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _run(env: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SPACES_"))}
    return subprocess.run(
        [sys.executable, "-m", "dashapp", "publish-assets", "--dir", str(folder)],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_uploads_every_asset_with_type_and_cache_headers(s3_endpoint: str, tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "style.css").write_text("body { color: #222; }")
    (tmp_path / "img" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    s3 = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=s3_endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET
    )
    s3.create_bucket(Bucket="monitor-assets")

    env = {
        "SPACES_BUCKET": "monitor-assets",
        "SPACES_REGION": "fra1",
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "SPACES_ACCESS_KEY_ID": KEY_ID,
        "SPACES_SECRET_ACCESS_KEY": SECRET,
    }
    run = _run(env, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "3 file(s)" in run.stdout

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="monitor-assets")["Contents"])
    assert keys == ["assets/favicon.ico", "assets/img/logo.svg", "assets/style.css"]
    css = s3.get_object(Bucket="monitor-assets", Key="assets/style.css")
    assert css["ContentType"] == "text/css; charset=utf-8"
    assert css["CacheControl"].startswith("public, max-age=")
    assert css["Body"].read() == b"body { color: #222; }"
    assert s3.head_object(Bucket="monitor-assets", Key="assets/img/logo.svg")["ContentType"].startswith("image/svg+xml")
    assert s3.head_object(Bucket="monitor-assets", Key="assets/favicon.ico")["ContentType"] in (
        "image/vnd.microsoft.icon",
        "image/x-icon",
    )


def test_missing_bucket_is_a_one_line_error_without_secrets(s3_endpoint: str, tmp_path: Path) -> None:
    (tmp_path / "style.css").write_text("body {}")
    env = {
        "SPACES_BUCKET": "no-such-bucket",
        "SPACES_REGION": "fra1",
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "SPACES_ACCESS_KEY_ID": KEY_ID,
        "SPACES_SECRET_ACCESS_KEY": SECRET,
    }
    run = _run(env, tmp_path)
    assert run.returncode == 1
    assert len(run.stderr.strip().splitlines()) == 1
    assert "NoSuchBucket" in run.stderr
    assert SECRET not in run.stderr + run.stdout


def test_missing_settings_name_the_variable(tmp_path: Path) -> None:
    run = _run({"SPACES_REGION": "fra1"}, tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "publish-assets: SPACES_BUCKET: missing (publish-assets needs SPACES_BUCKET, SPACES_REGION and Spaces keys)"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SPACES_BUCKET", "Bad_Bucket", "SPACES_BUCKET: expected"),
        ("SPACES_REGION", "frankfurt", "SPACES_REGION: expected"),
        ("AWS_ENDPOINT_URL_S3", "ftp://x", "AWS_ENDPOINT_URL_S3: expected"),
        ("AWS_ENDPOINT_URL_S3", "http://fra1.digitaloceanspaces.com", "AWS_ENDPOINT_URL_S3: https:// is required"),
    ],
)
def test_load_spaces_rejects_bad_values(name: str, value: str, message: str) -> None:
    env = {
        "SPACES_BUCKET": "assets",
        "SPACES_REGION": "fra1",
        "SPACES_ACCESS_KEY_ID": KEY_ID,
        "SPACES_SECRET_ACCESS_KEY": SECRET,
    } | {name: value}
    with pytest.raises(SettingsError, match=message):
        load_spaces(env)
    # The same settings with the good value load fine: the error came from that one variable.
    good = {k: v for k, v in env.items() if k != name} | {"SPACES_BUCKET": "assets", "SPACES_REGION": "fra1"}
    assert load_spaces(good).endpoint_url == "https://fra1.digitaloceanspaces.com"
