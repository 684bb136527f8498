"""One pull-request comment per job, updated on each run rather than added again: found by the
hidden marker its body starts with, through GitHub's REST API and the workflow's own token."""

from __future__ import annotations

import re

import httpx

__all__ = ["COMMENT_LIMIT", "github_client", "marker", "upsert_comment"]

COMMENT_LIMIT = 65_536
"""The longest body GitHub accepts for a comment, in characters."""

_PAGE = 100


def marker(job: str) -> str:
    """The hidden first line of the job's comment; the job id is kept to characters that
    cannot end an HTML comment."""
    return f"<!-- bifrost:{re.sub(r'[^A-Za-z0-9_.]', '_', job)} -->"


def upsert_comment(client: httpx.Client, repository: str, number: int, body: str, mark: str) -> str:
    """Update the comment of the pull request `number` whose body starts with `mark`, or add
    one; the comment's address. `client` carries the API's base URL and the token."""
    body = f"{mark}\n{body}"[:COMMENT_LIMIT]
    existing = _find(client, repository, number, mark)
    if existing is None:
        answer = client.post(f"/repos/{repository}/issues/{number}/comments", json={"body": body})
    else:
        answer = client.patch(
            f"/repos/{repository}/issues/comments/{existing}", json={"body": body}
        )
    answer.raise_for_status()
    return str(answer.json()["html_url"])


def _find(client: httpx.Client, repository: str, number: int, mark: str) -> int | None:
    page = 1
    while True:
        answer = client.get(
            f"/repos/{repository}/issues/{number}/comments",
            params={"per_page": _PAGE, "page": page},
        )
        answer.raise_for_status()
        comments = answer.json()
        for comment in comments:
            if str(comment.get("body", "")).startswith(mark):
                return int(comment["id"])
        if len(comments) < _PAGE:
            return None
        page += 1


def github_client(api_url: str, token: str) -> httpx.Client:
    """A client for GitHub's REST API with the workflow's token."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    return httpx.Client(base_url=api_url, headers=headers, timeout=30.0)
