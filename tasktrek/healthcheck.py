"""`python -m tasktrek.healthcheck`: exit 0 when the local server is ready (its database
answers), 1 otherwise. The Docker image's HEALTHCHECK; reads the same variables as the server."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from .errors import ConfigError
from .settings import Settings

TIMEOUT_SECONDS = 2.5
_ANY_ADDRESS = ("0.0.0.0", "::", "")


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    host = "127.0.0.1" if settings.host in _ANY_ADDRESS else settings.host
    url = f"http://{host if ':' not in host else f'[{host}]'}:{settings.port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:  # HTTPError (503) is a URLError
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
