"""Render the overview (:class:`dnalm.reporting.findings.Overview`) as RST, HTML and markdown.

- RST: the front page of ``report.html`` (``workflow/report/workflow.rst`` includes it);
- HTML: the ``0 Overview`` item of the report (a standalone page);
- markdown: the README's "What the demo finds" section (``python -m dnalm.reporting``);
- JSON: the same content for programs and tests.
"""

from __future__ import annotations

import json
from pathlib import Path

from dnalm import atomic
from dnalm.reporting.findings import Estimate, Finding, Overview, OverviewInputs, collect_overview
from dnalm.reporting.sections import CATEGORIES

__all__ = ["overview_html", "overview_markdown", "overview_rst", "write_overview"]

_FIG = {"promoters": "Fig. 2", "tf_sites": "Fig. 3", "splice": "Fig. 5", "other": "-"}
_MARK = {"ok": "", "warning": "WARNING: ", "missing": ""}
_TITLE = "What this run shows"
_NOTE = (
    "Test MCC, mean over seeds with its 95% interval (bootstrap over test rows for one seed, "
    "t over seeds otherwise); n test = test rows, seeds = fine-tuning seeds. Best baseline: the "
    "baseline with the highest mean MCC on that task."
)
#: Marks a cell whose model collapsed (one class for every test row) in some seed.
_COLLAPSED = "†"
_COLLAPSED_NOTE = (
    f"{_COLLAPSED} The model predicted one class for every test row in k of n seeds (shown as "
    f"{_COLLAPSED}k/n): its MCC of 0 there is no skill, and a best baseline so marked is no bar "
    "to clear."
)


#: Style of the standalone page: table cells on one line (an interval never wraps).
_CSS = (
    "body { font-family: sans-serif; line-height: 1.5; margin: 1.5rem; } main { max-width: 70rem; } "
    "table { border-collapse: collapse; } caption { text-align: left; font-weight: bold; } "
    "td, th { white-space: nowrap; padding: 0.2em 0.6em; border: 1px solid #bbb; text-align: left; } "
    "li.warning, p.warning { color: #a40000; } li.missing { color: #555; }"
)


def _rst_escape(s: str) -> str:
    for ch in ("\\", "*", "`", "|", "_"):
        s = s.replace(ch, "\\" + ch)
    if s[:1] in ("-", "+"):  # a cell of "-" alone would be a bullet list
        s = "\\" + s
    return s


def _rst_cell(s: str) -> list[str]:
    """A headline cell as list-table lines: an estimate's interval (and a model name's
    ``-scratch``) goes on a second line, so the table fits beside the report's rule graph."""
    head, sep, tail = s.partition(" [")
    if not sep and s.endswith("-scratch"):
        head, sep, tail = s.removesuffix("-scratch"), "-", "scratch"
    if not sep:
        return [_rst_escape(s)]
    return [f"| {_rst_escape(head)}", f"| {_rst_escape(sep.strip() + tail)}"]


def _estimate_cell(e: Estimate) -> str:
    text = e.text()
    if e.n_constant:
        text += f" {_COLLAPSED}{e.n_constant}/{e.n_seeds if e.n_seeds is not None else '?'}"
    return text


def _note(ov: Overview) -> str:
    """The table's footnote; the collapse mark's meaning is added when a cell carries it."""
    marked = any(isinstance(e, Estimate) and e.n_constant for r in ov.headline for e in r.values())
    return f"{_NOTE} {_COLLAPSED_NOTE}" if marked else _NOTE


def _cells(ov: Overview) -> tuple[list[str], list[list[str]]]:
    header = ["figure", "task", "n test", "seeds", *ov.columns]
    order = {s: i for i, s in enumerate(CATEGORIES)}
    rows = sorted(ov.headline, key=lambda r: order.get(r["section"], len(order)))
    body = []
    for r in rows:
        ests = [r.get(c) for c in ov.columns if isinstance(r.get(c), Estimate)]
        n = next((e.n for e in ests if e.n is not None), None)
        seeds = sorted({e.n_seeds for e in ests if e.n_seeds is not None})
        cells = [_FIG.get(r["section"], "-"), r["task"], str(n) if n is not None else "n/a",
                 "/".join(map(str, seeds)) or "n/a"]  # fmt: skip
        for c in ov.columns:
            e = r.get(c)
            if not isinstance(e, Estimate):
                cells.append("not run")
            elif c == "best baseline":
                cells.append(f"{e.label} {_estimate_cell(e)}")
            else:
                cells.append(_estimate_cell(e))
        body.append(cells)
    return header, body


def _finding_line(f: Finding) -> str:
    return f"{_MARK.get(f.status, '')}{f.text}"


def _warning_count(ov: Overview) -> str:
    """The line that opens the key findings: how many of them are warnings."""
    n = sum(f.status == "warning" for f in ov.findings)
    return (f"{n} of {len(ov.findings)} findings are warnings (marked WARNING): a claim of the "
            "paper this run does not show, or a stage that found nothing.") if n else ""


def overview_rst(ov: Overview, heading: str = "=") -> str:
    """The front page as reStructuredText (a section titled "What this run shows")."""
    out = [_TITLE, heading * len(_TITLE), ""]
    if ov.headline:
        header, body = _cells(ov)
        out += [".. list-table:: Headline: test MCC [95% CI]", "   :header-rows: 1", ""]
        for row in [header, *body]:
            for i, c in enumerate(row):
                first, *rest = _rst_cell(c)
                out.append(f"   {'* -' if i == 0 else '  -'} {first}")
                out += [f"       {line}" for line in rest]
        out += ["", _rst_escape(_note(ov)), ""]
    else:
        out += ["No benchmark was run: no headline table.", ""]
    out += ["Key findings", heading.replace("=", "-") * len("Key findings"), ""]
    if _warning_count(ov):
        out += [f"**{_rst_escape(_warning_count(ov))}**", ""]
    for f in ov.findings:  # the marker in bold: the report's stylesheet has no warning class
        mark = f"**{_MARK[f.status].strip()}** " if _MARK.get(f.status) else ""
        out.append(f"- **{_rst_escape(f.title)}**: {mark}{_rst_escape(f.text)}")
    out.append("")
    return "\n".join(out)


def overview_markdown(ov: Overview) -> str:
    """The headline table and findings as markdown (for the README)."""
    out = []
    if ov.headline:
        header, body = _cells(ov)
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        out += ["", _note(ov), ""]
    if _warning_count(ov):
        out += [f"**{_warning_count(ov)}**", ""]
    for f in ov.findings:
        mark = f"**{_MARK[f.status].strip()}** " if _MARK.get(f.status) else ""
        out.append(f"- **{f.title}**: {mark}{f.text}")
    return "\n".join(out) + "\n"


def overview_html(ov: Overview) -> str:
    """The front page as a standalone HTML page (no dependency beyond the standard library)."""
    from html import escape

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>dnalm report: {escape(_TITLE)}</title>", f"<style>{_CSS}</style>",
           "</head><body><main>", "<h1>dnalm report</h1>", f"<h2>{escape(_TITLE)}</h2>"]  # fmt: skip
    if ov.headline:
        header, body = _cells(ov)
        out.append("<table><caption>Headline: test MCC [95% CI]</caption><thead><tr>")
        out += [f"<th>{escape(h)}</th>" for h in header]
        out.append("</tr></thead><tbody>")
        for row in body:
            out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        out += ["</tbody></table>", f"<p>{escape(_note(ov))}</p>"]
    else:
        out.append("<p>No benchmark was run: no headline table.</p>")
    out += ["<h3>Key findings</h3>"]
    if _warning_count(ov):
        out.append(f'<p class="warning">{escape(_warning_count(ov))}</p>')
    out.append("<ul>")
    for f in ov.findings:
        cls = f' class="{f.status}"' if f.status != "ok" else ""
        out.append(f"<li{cls}><strong>{escape(f.title)}</strong>: {escape(_finding_line(f))}</li>")
    out += ["</ul>", "</main></body></html>", ""]
    return "\n".join(out)


def write_overview(
    inputs: OverviewInputs,
    html: str | Path,
    rst: str | Path,
    json_out: str | Path,
) -> Overview:
    """Compute the overview from result files and write its three renderings.

    Parameters
    ----------
    inputs : OverviewInputs
        The result files (missing stages give "not configured" findings).
    html : path
        Standalone page (the report's ``0 Overview`` item).
    rst : path
        Fragment included by the report's front page (``workflow/report/workflow.rst``).
    json_out : path
        Headline rows and findings as JSON.

    Returns
    -------
    Overview
    """
    ov = collect_overview(inputs)
    text = overview_rst(ov)
    atomic.write_text(rst, text)
    atomic.write_text(html, overview_html(ov))
    atomic.write_text(json_out, json.dumps(ov.to_json(), indent=2, default=str) + "\n")
    return ov
