"""Render an ``EvalRun``: a terminal table, a markdown summary and a self-contained HTML page.

The HTML has inline CSS and inline SVG bar charts (no scripts, no CDN), so it can be attached to
a CI run or mailed as one file. This module computes nothing; the numbers come from
``run.py``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from .metrics import METRICS, CaseResult
from .run import EvalRun

LABELS = {
    "hit_at_k": "retrieval hit@k", "mrr": "retrieval MRR", "correctness": "correctness (must_include)",
    "llm_judge": "LLM judge", "citation_precision": "citation precision (files)",
    "alce_citation_recall": "ALCE citation recall", "alce_citation_precision": "ALCE citation precision",
    "faithfulness": "faithfulness", "refusal_accuracy": "refusal accuracy",
    "latency_p50_s": "latency p50 (s)", "latency_p95_s": "latency p95 (s)",
}
SHORT = {
    "hit_at_k": "hit@k", "mrr": "MRR", "correctness": "correct", "llm_judge": "judge",
    "citation_precision": "cite-prec", "alce_citation_recall": "alce-rec", "alce_citation_precision": "alce-prec",
    "faithfulness": "faithful", "refusal_accuracy": "refusal", "latency_p50_s": "p50 s", "latency_p95_s": "p95 s",
}
ROWS = (*METRICS, "latency_p50_s", "latency_p95_s")


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _bound(run: EvalRun, name: str) -> tuple[str, bool | None]:
    """The threshold text for a metric and whether the value meets it (None: no threshold)."""
    t = run.thresholds or {}
    value = run.overall.get(name)
    if name in t.get("min", {}):
        bound = t["min"][name]
        return f"≥ {bound}", None if value is None else value >= bound
    if name in t.get("max", {}):
        bound = t["max"][name]
        return f"≤ {bound}", None if value is None else value <= bound
    return "", None


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def paraphrase_lines(run: EvalRun) -> list[str]:
    """The wordings' agreement, when the run holds questions with their rewordings."""
    p = run.paraphrases
    if not p:
        return []
    out = [f"paraphrases: {p['agreement']:.3f} of {p['groups']} questions agree across their wordings "
           f"(all right or all refused; all right {p['all_right']:.3f}; {p['with_original']} with the original wording)"]
    out += [f"  {root}: " + ", ".join(f"{i} {o}" for i, o in seen.items()) for root, seen in p["disagreeing"].items()]
    return out


def format_table(run: EvalRun) -> str:
    """What `rag eval` prints: overall metrics with thresholds, a per-category grid, failures."""
    overall = run.overall
    rows = []
    for name in ROWS:
        bound, ok = _bound(run, name)
        rows.append([LABELS[name], _fmt(overall.get(name)), bound, "" if ok is None else "ok" if ok else "BELOW"])
    out = [f"{overall['passed']}/{overall['cases']} cases passed every check "
           f"(backend {run.info.get('backend')}, top_k {run.info.get('top_k')}, index {run.info.get('index_dir')})", ""]
    out.append(_text_table(["metric", "value", "threshold", ""], rows))
    cats = run.by_category
    grid = [[c, str(s["cases"]), str(s["passed"]), *(_fmt(s.get(m)) for m in ROWS if m != "llm_judge")] for c, s in cats.items()]
    out += ["", _text_table(["category", "n", "pass", *(SHORT[m] for m in ROWS if m != "llm_judge")], grid)]
    if agreement := paraphrase_lines(run):
        out += ["", *agreement]
    failing = [r for r in run.results if not r.passed]
    if failing:
        out += ["", f"failing cases ({len(failing)}):"]
        out += [f"  {r.case.id}: {'; '.join(r.failures)}" for r in failing]
    if run.gate_failures:
        out += ["", "GATE FAILED: " + "; ".join(run.gate_failures)]
    return "\n".join(out)


def format_markdown(run: EvalRun) -> str:
    overall = run.overall
    lines = [
        "# Evaluation summary", "",
        f"Golden file `{run.info.get('golden')}`, backend `{run.info.get('backend')}`, top_k {run.info.get('top_k')}, "
        f"index `{run.info.get('index_dir')}`. **{overall['passed']}/{overall['cases']}** cases passed every check.", "",
        "| metric | value | threshold | |", "|---|---:|---:|---|",
    ]
    for name in ROWS:
        bound, ok = _bound(run, name)
        lines.append(f"| {LABELS[name]} | {_fmt(overall.get(name))} | {bound} | {'' if ok is None else '✅' if ok else '❌'} |")
    cols = [m for m in ROWS if m != "llm_judge"]
    lines += ["", "## By category", "", "| category | n | passed | " + " | ".join(SHORT[m] for m in cols) + " |",
              "|---|---:|---:|" + "---:|" * len(cols)]
    for cat, s in run.by_category.items():
        lines.append(f"| {cat} | {s['cases']} | {s['passed']} | " + " | ".join(_fmt(s.get(m)) for m in cols) + " |")
    if agreement := paraphrase_lines(run):
        lines += ["", "## Paraphrases", "", agreement[0], "", *(f"- {line.strip()}" for line in agreement[1:])]
    failing = [r for r in run.results if not r.passed]
    lines += ["", f"## Failing cases ({len(failing)})", ""]
    for r in failing:
        answer = r.answer.answer if r.answer else "(no answer)"
        lines.append(f"- **{r.case.id}** ({r.case.category}) — {r.case.question}  \n  {'; '.join(r.failures)}  \n  > {answer}")
    if run.gate_failures:
        lines += ["", "**Gate failed:** " + "; ".join(run.gate_failures)]
    return "\n".join(lines) + "\n"


# -- HTML ----------------------------------------------------------------------------------------

def _bar_chart(title: str, items: list[tuple[str, float | None]], marks: dict[str, float] | None = None, scale: float | None = None) -> str:
    """Horizontal bars, labelled. Shares (0..1) are coloured green/amber/red; with ``scale``
    (seconds) bars are neutral. ``marks`` draws a threshold tick on a bar."""
    neutral, scale = scale is not None, scale or 1.0
    row, label_w, bar_w = 22, 190, 260
    height = row * len(items) + 30
    parts = [f'<svg class="chart" width="{label_w + bar_w + 60}" height="{height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="14" class="title">{html.escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 24 + i * row
        share = 0.0 if value is None else max(0.0, min(1.0, value / scale))
        colour = "#9aa5b1" if value is None else "#4a6fa5" if neutral else "#2f855a" if share >= 0.95 else "#d69e2e" if share >= 0.8 else "#c53030"
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row - 6}" fill="#edf2f7"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_w * share:.1f}" height="{row - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 13}">{_fmt(value)}</text>')
        if marks and label in marks:
            x = label_w + bar_w * max(0.0, min(1.0, marks[label] / scale))
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + row - 2}" stroke="#1a202c" stroke-width="2"><title>threshold {marks[label]}</title></line>')
    parts.append("</svg>")
    return "".join(parts)


def _case_html(r: CaseResult) -> str:
    c, e = r.case, html.escape
    bits = [f'<details class="case" open><summary><b>{e(c.id)}</b> <span class="cat">{e(c.category)}</span> {e(c.question)}</summary>',
            "<ul class='why'>" + "".join(f"<li>{e(f)}</li>" for f in r.failures) + "".join(f"<li class='note'>{e(n)}</li>" for n in r.notes) + "</ul>"]
    if c.history:
        bits.append("<p class='label'>Conversation before</p>" + "".join(f"<p class='hist'>User: {e(u)}<br>Assistant: {e(a)}</p>" for u, a in c.history))
    expected = "; ".join(" or ".join(g) for g in c.must_include) or ("(should refuse)" if not c.answerable else "")
    bits.append(f"<p class='label'>Expected</p><p>{e(c.answer or '')} <span class='muted'>must include: {e(expected)}; sources: {e(', '.join(c.sources))}</span></p>")
    if r.answer:
        a = r.answer
        if a.standalone_question:
            bits.append(f"<p class='muted'>Rewritten as: {e(a.standalone_question)}</p>")
        bits.append(f"<p class='label'>Answer{' (refused)' if a.refused else ''}</p><blockquote>{e(a.answer)}</blockquote>")
        bits += [f"<p class='cite'>[{x.n}] <code>{e(x.source)}</code> {x.start}–{x.end}: “{e(' '.join(x.quote.split()))}”</p>" for x in a.citations]
        bits += [f"<p class='removed'>removed, unsupported: “{e(s.text)}”</p>" for s in a.sentences if not s.supported]
    bits.append(f"<p class='muted'>retrieved: {e(', '.join(r.retrieved))}; {r.latency_s:.1f} s</p></details>")
    return "".join(bits)


CSS = """body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1a202c;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #e2e8f0}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #edf2f7;text-align:right}
td:first-child,th:first-child{text-align:left}.bad{color:#c53030;font-weight:600}.ok{color:#2f855a}
.charts{margin-top:14px;display:flex;flex-wrap:wrap;gap:12px 28px}svg.chart text{font-size:12px;fill:#2d3748}svg.chart .title{font-weight:600}
.case{border:1px solid #e2e8f0;border-radius:6px;padding:6px 10px;margin:6px 0}.case summary{cursor:pointer}
.cat{background:#edf2f7;border-radius:4px;padding:0 6px;font-size:12px}.why{color:#c53030;margin:6px 0}
.label{font-weight:600;margin:6px 0 2px}.muted{color:#718096;font-size:13px}.cite{font-size:13px;margin:2px 0 2px 1rem}
.removed{font-size:13px;color:#975a16;margin:2px 0 2px 1rem}blockquote{margin:4px 0 4px 1rem;padding-left:8px;border-left:3px solid #cbd5e0}
.note{color:#975a16}.hist{font-size:13px;margin:2px 0 2px 1rem;color:#4a5568}"""


def format_html(run: EvalRun) -> str:
    e, overall, cats = html.escape, run.overall, run.by_category
    mins = (run.thresholds or {}).get("min", {})
    ratios = [m for m in METRICS if overall.get(m) is not None]
    chart = _bar_chart("Overall", [(LABELS[m], overall[m]) for m in ratios], {LABELS[m]: mins[m] for m in ratios if m in mins})
    per_metric = "".join(_bar_chart(LABELS[m], [(c, s.get(m)) for c, s in cats.items()]) for m in ratios)
    slowest = max((s.get("latency_p95_s") or 0 for s in cats.values()), default=1.0) or 1.0
    per_metric += _bar_chart("latency p95 (s)", [(c, s.get("latency_p95_s")) for c, s in cats.items()], scale=slowest)
    rows = []
    for name in ROWS:
        bound, ok = _bound(run, name)
        mark = "" if ok is None else "<span class='ok'>ok</span>" if ok else "<span class='bad'>below</span>"
        rows.append(f"<tr><td>{LABELS[name]}</td><td>{_fmt(overall.get(name))}</td><td>{e(bound)}</td><td>{mark}</td></tr>")
    cols = [m for m in ROWS if m != "llm_judge"]
    grid = "".join(f"<tr><td>{e(c)}</td><td>{s['cases']}</td><td>{s['passed']}</td>" + "".join(f"<td>{_fmt(s.get(m))}</td>" for m in cols) + "</tr>" for c, s in cats.items())
    failing = [r for r in run.results if not r.passed]
    gate = f"<p class='bad'>Gate failed: {e('; '.join(run.gate_failures))}</p>" if run.gate_failures else ""
    info = run.info
    agreement = paraphrase_lines(run)
    para = (f"<h2>Paraphrases</h2><p>{e(agreement[0])}</p><ul>" + "".join(f"<li>{e(line.strip())}</li>" for line in agreement[1:]) + "</ul>") if agreement else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rag eval report</title><style>{CSS}</style></head><body>
<h1>Evaluation report</h1>
<p>Golden file <code>{e(str(info.get('golden')))}</code>, backend <code>{e(str(info.get('backend')))}</code>, top_k {info.get('top_k')}, index <code>{e(str(info.get('index_dir')))}</code>.
<b>{overall['passed']}/{overall['cases']}</b> cases passed every check.</p>{gate}
<div class="charts">{chart}<table><tr><th>metric</th><th>value</th><th>threshold</th><th></th></tr>{''.join(rows)}</table></div>
<h2>By category</h2><table><tr><th>category</th><th>n</th><th>passed</th>{''.join(f'<th>{SHORT[m]}</th>' for m in cols)}</tr>{grid}</table>
<div class="charts">{per_metric}</div>{para}
<h2>Failing cases ({len(failing)})</h2>{''.join(_case_html(r) for r in failing) or '<p>None.</p>'}
</body></html>
"""


def write_report(run: EvalRun, folder: Path) -> list[Path]:
    """Write summary.md, report.html and eval.json into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "summary.md", folder / "report.html", folder / "eval.json"]
    paths[0].write_text(format_markdown(run), encoding="utf-8")
    paths[1].write_text(format_html(run), encoding="utf-8")
    paths[2].write_text(json.dumps(run.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    return paths
