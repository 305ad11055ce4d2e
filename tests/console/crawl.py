"""A crawler for the console: every link a page shows is followed, every form submitted.

Used by the role test: whatever a signed-in role is offered must not answer 403.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

from tests.console.conftest import Browser

# Path segments that are ids (plans, jobs, visits, dates): pages differing only in them
# are one page for the crawl, so it visits each kind of page once.
_ID = re.compile(r"^([0-9a-f-]{8,}|\d{4}-\d{2}(-\d{2})?|\d+|demo-[\w-]+)$")


@dataclass
class Form:
    """One form as a browser would submit it (its first submit button pressed)."""

    method: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    has_submit: bool = False


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_done = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(a.get("method", "get").lower(), a.get("action", ""))
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind == "file":
                self._form.files.append(a.get("name", ""))
            elif kind == "submit":
                self._form.has_submit = True
            elif kind in ("checkbox", "radio"):
                if "checked" in a and a.get("name"):
                    self._form.fields.append((a["name"], a.get("value", "on")))
            elif a.get("name"):
                self._form.fields.append((a["name"], a.get("value", "")))
        elif tag == "button":
            if a.get("type", "submit") == "submit" and not self._form.has_submit:
                self._form.has_submit = True
                if a.get("name"):
                    self._form.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._select_done = a.get("name"), False
        elif tag == "option" and self._select and not self._select_done:
            self._form.fields.append((self._select, a.get("value", "")))
            self._select_done = True
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form.fields.append((self._textarea, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def page_parts(html: str) -> _Page:
    """The links and forms of a page."""
    p = _Page()
    p.feed(html)
    return p


def shape(url: str) -> str:
    """The kind of page a URL is: its path with ids as ``*`` and its query's keys."""
    parts = urlsplit(url)
    path = "/".join("*" if _ID.match(seg) else seg for seg in parts.path.split("/"))
    keys = sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


@dataclass
class CrawlResult:
    """What the crawl saw: each request's status by shape, and the refusals."""

    seen: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


SKIP = ("/console/logout", "/console/static/")


def crawl(
    b: Browser, start: str = "/console/", limit: int = 400, avoid: tuple[str, str] = ("", "")
) -> CrawlResult:
    """Follow every link and submit every form (each kind once), at most ``limit`` requests.

    A form carrying the field ``avoid`` (``("login", me)``: changing one's own account)
    is left alone, so the crawl does not take away its own rights half-way.
    """
    out = CrawlResult()
    queue: deque[str] = deque([start])
    while queue and len(out.seen) < limit:
        url = queue.popleft()
        key = "GET " + shape(url)
        if key in out.seen:
            continue
        r = b.client.get(url, follow_redirects=True)
        out.seen[key] = r.status_code
        if r.status_code == 403:
            out.refused.append(f"GET {url}")
        if r.status_code >= 500:
            out.failed.append(f"GET {url} → {r.status_code}")
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        here = str(r.url)
        parts = page_parts(r.text)
        for link in parts.links:
            target = urljoin(here, link)
            path = urlsplit(target).path
            if urlsplit(target).netloc != "testserver" or not path.startswith("/console"):
                continue
            if not any(path.startswith(s) for s in SKIP):
                queue.append(
                    path + ("?" + urlsplit(target).query if urlsplit(target).query else "")
                )
        for form in parts.forms:
            target = urljoin(here, form.action or here)
            path = urlsplit(target).path
            if any(path.startswith(s) for s in SKIP) or not form.has_submit:
                continue
            if avoid in form.fields:
                continue
            if form.method == "get":
                query = "&".join(f"{k}={v}" for k, v in form.fields)
                queue.append(f"{path}?{query}")
                continue
            fkey = "POST " + shape(path) + " " + ",".join(sorted({k for k, _ in form.fields}))
            if fkey in out.seen:
                continue
            files = {name: ("empty.csv", b"", "text/csv") for name in form.files if name}
            r = b.client.post(
                path, data=dict(form.fields), files=files or None, follow_redirects=False
            )
            out.seen[fkey] = r.status_code
            if r.status_code == 403:
                out.refused.append(f"POST {path} {dict(form.fields)}")
            if r.status_code >= 500:
                out.failed.append(f"POST {path} → {r.status_code}")
            if r.status_code in (302, 303) and r.headers.get("location", "").startswith("/console"):
                queue.append(r.headers["location"])
    return out
