"""The body POSTed to the alert webhook, in the shape the receiving service documents.

`RW_ALERT_FORMAT` chooses it: `slack` (an incoming webhook: `text`, the notification fallback, plus Block Kit
`blocks`), `teams` (a Teams incoming webhook or Workflows "post to a channel when a webhook request is
received": a `message` whose one attachment is an Adaptive Card) or `json` (the alert's own fields plus
`text`, for any other receiver). Unset, the format follows the webhook's host: hooks.slack.com is Slack,
*.webhook.office.com and Power Automate / Logic Apps hosts are Teams, anything else gets JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from orchestration.lib.alerts import Alert

FORMATS = ("json", "slack", "teams")
# Slack: a header's text is at most 150 characters, a section's 3000, a message 50 blocks.
_HEADER_MAX, _SECTION_MAX, _LISTED = 150, 3000, 10


def format_for(webhook_url: str, configured: str | None) -> str:
    if configured:
        if configured not in FORMATS:
            raise ValueError(f"RW_ALERT_FORMAT must be one of {', '.join(FORMATS)}, not {configured!r}")
        return configured
    host = (urlsplit(webhook_url).hostname or "").lower()
    if host == "hooks.slack.com":
        return "slack"
    if host.endswith((".webhook.office.com", ".logic.azure.com", ".powerplatform.com")):
        return "teams"
    return "json"


def payload(alert: Alert, fmt: str) -> dict:
    return {"json": json_body, "slack": slack_body, "teams": teams_body}[fmt](alert)


def title(alert: Alert) -> str:
    if alert.kind == "run_failure":
        return f"Build failed: {alert.job}"
    return f"Checks failed in a successful build: {alert.job}"


def _lines(alert: Alert) -> list[str]:
    """One line per failed step and check, the first `_LISTED` of each, then how many more."""
    lines = [f"step {s.step}: {s.error}" for s in alert.failed_steps[:_LISTED]]
    if len(alert.failed_steps) > _LISTED:
        lines.append(f"... and {len(alert.failed_steps) - _LISTED} more failed steps")
    lines += [
        f"check {c.check} on {c.asset} ({c.severity}): {c.description}" for c in alert.failed_checks[:_LISTED]
    ]
    if len(alert.failed_checks) > _LISTED:
        lines.append(f"... and {len(alert.failed_checks) - _LISTED} more failed checks")
    return lines


def plain_text(alert: Alert) -> str:
    return "\n".join([f"{title(alert)}: {alert.summary}", *_lines(alert), f"Run: {alert.run_url}"])


def json_body(alert: Alert) -> dict:
    return {**alert.to_dict(), "text": plain_text(alert)}


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (<!channel> would notify everyone).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_body(alert: Alert) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title(alert), _HEADER_MAX)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(_slack_escape(alert.summary), _SECTION_MAX)},
        },
    ]
    if alert.failed_steps or alert.failed_checks:
        listed = "\n".join(f"• {_slack_escape(line)}" for line in _lines(alert))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(listed, _SECTION_MAX)}})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the run"},
                    "url": alert.run_url,
                }
            ],
        }
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"run {alert.run_id}"}]})
    return {"text": _cut(plain_text(alert), _SECTION_MAX), "blocks": blocks}


def teams_body(alert: Alert) -> dict:
    facts = [{"title": f"step {s.step}", "value": s.error} for s in alert.failed_steps[:_LISTED]] + [
        {"title": f"check {c.check}", "value": f"{c.asset} ({c.severity}): {c.description}"}
        for c in alert.failed_checks[:_LISTED]
    ]
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": title(alert),
            "weight": "Bolder",
            "size": "Medium",
            "color": "Attention",
            "wrap": True,
        },
        {"type": "TextBlock", "text": alert.summary, "wrap": True},
    ]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Open the run", "url": alert.run_url}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
