"""Headless Chromium for report checks: the rendered DOM (with the page's console) and a screenshot."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SKIP_REASON = (
    "headless chromium is not installed (Debian package `chromium`; make test installs it as root)"
)


def find_chromium() -> str:
    """The chromium executable; skips the calling test when there is none."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip(SKIP_REASON)
    return exe


def _flags(profile: Path) -> list[str]:
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=15000",
        "--enable-logging=stderr", "--v=0",  # page console (incl. uncaught JS errors) on stderr
    ]  # fmt: skip


def dump_dom(page: Path, profile: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    """Render ``page`` and return chromium's run: ``stdout`` the DOM, ``stderr`` the console."""
    return subprocess.run([find_chromium(), *_flags(profile), "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def screenshot(page: Path, out: Path, profile: Path, size: tuple[int, int] = (1400, 1000),
               timeout: int = 180) -> Path:  # fmt: skip
    """Render ``page`` into the PNG ``out`` at ``size`` (width, height) pixels."""
    subprocess.run([find_chromium(), *_flags(profile), f"--window-size={size[0]},{size[1]}",
                    f"--screenshot={out}", page.as_uri()], capture_output=True, timeout=timeout)  # fmt: skip
    return out


#: Injected before ``</body>``: once the report has drawn, the headline table's right edge and
#: the rule graph's left edge (CSS px) go into ``<body data-layout=...>`` for --dump-dom.
_LAYOUT_PROBE = """<script>
window.addEventListener('load', () => setTimeout(() => {
  const t = [...document.querySelectorAll('table')].find(
    x => x.caption && x.caption.textContent.trim().startsWith('Headline: test MCC'));
  const g = document.querySelector('#rulegraph canvas') || document.getElementById('rulegraph');
  document.body.setAttribute('data-layout', JSON.stringify({
    table: t ? t.getBoundingClientRect().right : null,
    graph: g ? g.getBoundingClientRect().left : null}));
}, 3000));
</script>
"""


def front_page_layout(report: Path, workdir: Path) -> dict:
    """Where report.html's front page draws its headline table and its rule graph:
    ``{"table": right edge, "graph": left edge}`` in CSS px (None for a missing element)."""
    text = report.read_text()
    cut = text.rfind("</body>")
    assert cut > 0, f"{report}: no </body>"
    page = workdir / "probe.html"
    page.write_text(text[:cut] + _LAYOUT_PROBE + text[cut:])
    dom = dump_dom(page, workdir / "profile")
    m = re.search(r'data-layout="([^"]*)"', dom.stdout)
    assert m, dom.stderr[-3000:]
    return json.loads(html.unescape(m.group(1)))
