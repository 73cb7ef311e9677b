"""Alerts people can act on: what failed, which asset, and a link to the run.

Every alert is appended as one JSON line to a log file; when a webhook URL is configured it is also POSTed
there as JSON. A webhook that is down never fails the run that raised the alert: the failure to deliver is
written to the same log.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure | check_failure
    summary: str  # one sentence a person understands
    run_id: str
    run_url: str
    asset: str | None = None
    check: str | None = None
    severity: str = "error"
    created_at: str = ""

    def to_json(self) -> str:
        body = asdict(self)
        body["created_at"] = self.created_at or datetime.now(UTC).isoformat(timespec="seconds")
        return json.dumps(body, sort_keys=True)


def send_alert(alert: Alert, log_path: Path, webhook_url: str | None = None, timeout_s: float = 5.0) -> bool:
    """Write `alert` to `log_path` and POST it to `webhook_url` if set; returns whether delivery succeeded."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    line = alert.to_json()
    with log_path.open("a", encoding="utf-8") as log:
        log.write(line + "\n")
    if not webhook_url:
        return True
    try:
        request = urllib.request.Request(
            webhook_url, data=line.encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, OSError, ValueError, http.client.HTTPException) as exc:
        # Never echo the URL: a webhook URL often embeds a token. A malformed URL (a stray space, a broken
        # IPv6 host) raises an error that quotes it, so only its kind is logged.
        malformed = isinstance(exc, ValueError | http.client.InvalidURL)
        error = f"{type(exc).__name__}: the webhook URL is malformed" if malformed else str(exc)
        with log_path.open("a", encoding="utf-8") as log:
            log.write(
                json.dumps({"kind": "alert_delivery_failed", "run_id": alert.run_id, "error": error}) + "\n"
            )
        return False
