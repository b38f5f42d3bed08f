"""HTML cards of a Client and a LocalCluster for notebooks: the scheduler's address, the
dashboard link, and the workers with their threads and memory."""

from __future__ import annotations

import html

from oxdask.utils import format_bytes


def _rows(pairs) -> str:
    return "".join(
        f'<tr><th style="text-align: left">{html.escape(k)}</th>'
        f'<td style="text-align: left">{v}</td></tr>'
        for k, v in pairs
    )


def _workers(info: dict | None) -> list[tuple[str, str]]:
    if info is None:
        return [("Workers", "unknown (the scheduler did not answer)")]
    workers = list(info.get("workers", {}).values())
    threads = sum(w.get("nthreads", 0) for w in workers)
    memory = sum(w.get("memory_limit", 0) or 0 for w in workers)
    return [
        ("Workers", str(len(workers))),
        ("Total threads", str(threads)),
        ("Total memory", format_bytes(memory) if memory else "no limit"),
    ]


def _link(url: str | None) -> str:
    if not url:
        return "none"
    safe = html.escape(url, quote=True)
    return f'<a href="{safe}" target="_blank">{safe}</a>'


def card(title: str, address: str, dashboard: str | None, info: dict | None, state: str) -> str:
    rows = [
        ("Scheduler", html.escape(address)),
        ("Dashboard", _link(dashboard)),
        ("State", html.escape(state)),
        *_workers(info),
    ]
    return (
        f'<div><h3 style="margin-bottom: 0.3em">{html.escape(title)}</h3>'
        f"<table>{_rows(rows)}</table></div>"
    )
