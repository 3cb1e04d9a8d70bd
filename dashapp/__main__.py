"""`python -m dashapp publish-assets`: upload assets/ to the Spaces bucket that CloudFront serves /assets/* from.
`python -m dashapp hash-password`: the AUTH_BASIC_PASSWORD_HASH of a password read from the terminal or stdin."""

from __future__ import annotations

import argparse
import getpass
import mimetypes
import sys
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.security import generate_password_hash

from jobs.defaults import SPACES_CONNECT_TIMEOUT_S, SPACES_READ_TIMEOUT_S
from jobs.settings import SettingsError, SpacesSettings, load_spaces

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
# Asset names are not fingerprinted, so browsers revalidate after an hour; CloudFront keeps them a day at most.
CACHE_CONTROL = "public, max-age=3600, s-maxage=86400"


def content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed is None:
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in ("application/javascript", "image/svg+xml", "application/json"):
        return f"{guessed}; charset=utf-8"
    return guessed


def asset_files(root: Path) -> list[Path]:
    """Files to publish, in a stable order; hidden files and editor leftovers stay home."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts))


def publish_assets(spaces: SpacesSettings, root: Path = ASSETS_DIR) -> list[str]:
    """Upload every file under `root` to `assets/<relative path>`; returns the keys written."""
    client = boto3.client(
        "s3",
        region_name=spaces.region,
        endpoint_url=spaces.endpoint_url,
        aws_access_key_id=spaces.access_key_id,
        aws_secret_access_key=spaces.secret_access_key,
        config=Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=SPACES_CONNECT_TIMEOUT_S,
            read_timeout=SPACES_READ_TIMEOUT_S,
        ),
    )
    keys = []
    for path in asset_files(root):
        key = "assets/" + path.relative_to(root).as_posix()
        # Private objects: the bucket policy lets only CloudFront (with its secret header) read them.
        # Assets are small: one PutObject each (its errors are plain ClientErrors, unlike the transfer manager's).
        client.put_object(
            Bucket=spaces.bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=content_type(path),
            CacheControl=CACHE_CONTROL,
            ACL="private",
        )
        keys.append(key)
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashapp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish-assets", help="upload assets/ to the Spaces bucket (SPACES_* settings)")
    publish.add_argument("--dir", type=Path, default=ASSETS_DIR, help="folder to upload (default: assets/)")
    commands.add_parser("hash-password", help="print AUTH_BASIC_PASSWORD_HASH for a password (asked, or on stdin)")
    args = parser.parse_args(argv)
    if args.command == "hash-password":
        return hash_password()

    if not args.dir.is_dir():
        print(f"publish-assets: no such folder {str(args.dir)!r}", file=sys.stderr)
        return 2
    try:
        spaces = load_spaces()
        keys = publish_assets(spaces, args.dir)
    except SettingsError as exc:
        print(f"publish-assets: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        # botocore messages name the operation and error code, never the keys.
        print(f"publish-assets: upload failed: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    print(f"publish-assets: {len(keys)} file(s) to s3://{spaces.bucket}/assets/ via {spaces.endpoint_url}")
    return 0


def hash_password() -> int:
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("hash-password: expected a password of at least 12 characters", file=sys.stderr)
        return 2
    print(generate_password_hash(password))  # scrypt, with a random salt
    return 0


if __name__ == "__main__":
    sys.exit(main())
