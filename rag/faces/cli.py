"""The ``rag`` command: a thin shell over the library. No retrieval or prompting logic here.

    rag ingest [PATH ...] [--index DIR] [--rebuild] [--watch]
    rag search QUERY [-k N] [--json] [--since DATE] [--until DATE] [--source NAME]
    rag ask QUESTION [--json] [--backend local|openai|fake] [--since DATE] [--until DATE] [--source NAME]
    rag chat                      interactive terminal Q&A with follow-ups
    rag sources [--json]          the indexed articles: file, published date, size, title
    rag check CLAIM [--json] [--since/--until/--source]  fact-check a claim: supported, contradicted or not found, with the quote
    rag model                     assemble and verify the local model file
    rag doctor [--verify] [--json] can this installation answer? one line per check, with the fix
    rag serve [--host H] [--port P] the chat UI at / and the OpenAI-compatible API at /v1
    rag eval [GOLDEN] [--index DIR | --corpus DIR] [--json] [--report DIR] [--backend B] [--limit N] [--originals FILE]

Errors from the library become one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pydantic import ValidationError

from ..errors import RagError
from ..settings import Settings, setting_problem
from ..text.dates import date_label
from ..types import Answer, ClaimCheck

if TYPE_CHECKING:
    from ..answer.engine import Assistant


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "index", None):
        overrides["index_dir"] = Path(args.index)
    if getattr(args, "backend", None):
        overrides["llm_backend"] = args.backend
    if getattr(args, "k", None):
        overrides["top_k"] = args.k
    return Settings(**overrides)


def _assistant(settings: Settings) -> Assistant:
    from ..answer.engine import Assistant  # lazy: keeps `rag --help` fast

    return Assistant.from_settings(settings)


def _filters(args: argparse.Namespace) -> dict[str, str | None]:
    return {"since": getattr(args, "since", None), "until": getattr(args, "until", None), "source": getattr(args, "source", None)}


def _filtered(assistant: Assistant, args: argparse.Namespace) -> Assistant:
    """The assistant narrowed by --since/--until/--source; says on stderr what the filter left."""
    narrowed = assistant.filtered(**_filters(args))
    if narrowed is not assistant:
        left = narrowed.retriever.filtered_articles
        print(f"filter {_describe(_filters(args))}: {left} of {len(assistant.index.documents)} articles", file=sys.stderr)
    return narrowed


def _describe(filters: dict[str, str | None]) -> str:
    return ", ".join(f"{k} {v}" for k, v in filters.items() if v)


def _about(item: Any) -> str:
    """Title, site, author and link of a citation, hit or source where known, on one line:
    ``“Valmora strike ends” — Northbridge Daily, Anika Sorensen <https://…>``."""
    parts = [f"“{item.title}”" if item.title else "", ", ".join(p for p in (item.site, item.author) if p)]
    line = " — ".join(p for p in parts if p)
    return (line + (f" <{item.url}>" if item.url else "")).strip()


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_ingest(args: argparse.Namespace) -> int:
    from ..index.embed import make_embedder
    from ..ingest.run import ingest

    settings = _settings(args)
    paths = [Path(p) for p in args.paths] or [settings.corpus_dir]
    embedder = make_embedder(settings)
    report = ingest(paths, settings, embedder, rebuild=args.rebuild, progress=sys.stderr.isatty())
    _print_report(report, settings, args.json)
    if args.watch:
        from ..ingest.watch import watch

        print(f"watching {', '.join(map(str, paths))} (Ctrl-C stops)", file=sys.stderr, flush=True)
        for report in watch(paths, settings, embedder):
            _print_report(report, settings, args.json)
        return 0
    return 1 if report.skipped else 0


def _print_report(report: Any, settings: Settings, as_json: bool) -> None:
    if as_json:
        _print_json(report.to_dict())
    else:
        print(
            f"indexed {report.chunks} chunks in {settings.index_dir}: {len(report.added)} added, "
            f"{len(report.updated)} updated, {len(report.removed)} removed, {len(report.unchanged)} unchanged, "
            f"{report.embedded} chunks embedded in {report.seconds:.1f} s"
        )
        for name, reason in sorted(report.skipped.items()):
            print(f"skipped {name}: {reason}", file=sys.stderr)
        for name, reason in sorted(report.notes.items()):
            print(f"note {name}: {reason}", file=sys.stderr)
    sys.stdout.flush()


def cmd_search(args: argparse.Namespace) -> int:
    assistant = _filtered(_assistant(_settings(args)), args)
    hits = assistant.search(args.query, k=args.k)
    if args.json:
        extra = {"filter": assistant.filter_summary} if hasattr(assistant, "filter_summary") else {}
        _print_json({"query": args.query, "hits": [h.to_dict() for h in hits], **extra})
        return 0
    for i, h in enumerate(hits, start=1):
        print(f"[{i}] {h.source} ({date_label(h.published, h.published_inferred)}) chars {h.start}-{h.end}  score {h.score:.4f}")
        if about := _about(h):
            print(f"    {about}")
        print(textwrap.indent(textwrap.fill(" ".join(h.text.split()), 100), "    "))
    return 0


def format_answer(answer: Answer, *, text: bool = True) -> str:
    """The answer as ``rag ask`` prints it: the text (unless ``text`` is false: it was streamed),
    each citation with its quote, the removed (unsupported) sentences and, for a refusal, the
    closest passages."""
    lines = [answer.answer] if text else []
    for c in answer.citations:
        lines.append(f"  [{c.n}] {c.source} ({date_label(c.published, c.published_inferred)}) chars {c.start}-{c.end}: “{' '.join(c.quote.split())}”")
        if about := _about(c):
            lines.append(f"      {about}")
    for s in answer.sentences:
        if not s.supported:
            lines.append(f"  (removed, not supported by the articles: “{s.text}”)")
    for h in answer.closest:
        lines.append(f"  closest: {h.source} chars {h.start}-{h.end}: “{' '.join(h.text.split())[:160]}…”")
    return "\n".join(lines)


def _ask(assistant: Assistant, question: str, history: list[tuple[str, str]], as_json: bool) -> Answer:
    stream = assistant.stream(question, history=history)
    if as_json:
        return stream.consume()
    for piece in stream:  # verified sentences, as each is checked; they join into answer.answer
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return stream.answer


def cmd_ask(args: argparse.Namespace) -> int:
    assistant = _filtered(_assistant(_settings(args)), args)
    answer = _ask(assistant, args.question, [], args.json)
    if args.json:
        _print_json(answer.to_dict())
    elif details := format_answer(answer, text=False):
        print(details)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    rows = _assistant(_settings(args)).sources()
    if args.json:
        _print_json([r.to_dict() for r in rows])
        return 0
    for r in rows:
        print(f"{r.source}  {date_label(r.published, r.published_inferred)}  {r.size} bytes  {r.title or '(no title)'}")
        if meta := ", ".join(p for p in (r.site, r.author) if p) + (f" <{r.url}>" if r.url else ""):
            print(f"    {meta.strip()}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    assistant = _assistant(_settings(args))
    history: list[tuple[str, str]] = []
    print("Ask about the news articles (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        try:
            answer = _ask(assistant, question, history, False)
        except RagError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        if details := format_answer(answer, text=False):
            print(details)
        history.append((question, answer.answer))


def format_check(check: ClaimCheck) -> str:
    lines = [f"{check.verdict.replace('_', ' ')}: {check.explanation}"]
    for c in check.evidence:
        lines.append(f"  [{c.n}] {c.source} ({date_label(c.published, c.published_inferred)}) chars {c.start}-{c.end}: “{c.quote}”")
        if about := _about(c):
            lines.append(f"      {about}")
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    check = _filtered(_assistant(_settings(args)), args).check(args.claim)
    if args.json:
        _print_json(check.to_dict())
    else:
        print(format_check(check))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_checks

    checks = run_checks(_settings(args), verify=args.verify, generate=not args.no_generate, index=not args.no_index)
    if args.json:
        _print_json([c.to_dict() for c in checks])
    else:
        for c in checks:
            print(c.line(), flush=True)
    return 0 if all(c.ok for c in checks) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from .api import ApiSettings
    from .serve import serve

    serve(_settings(args), args.host, args.port, ApiSettings())
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from ..llm.model_file import ensure_model

    settings = _settings(args)
    print(ensure_model(settings.local_model, settings.cache_dir))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from ..eval.report import format_table, write_report
    from ..errors import EvalError
    from ..eval.claims import is_claims_file
    from ..eval.run import evaluate_file

    if args.corpus and args.index:
        raise EvalError("give either --index or --corpus, not both")
    corpus = Path(args.corpus) if args.corpus else None
    if is_claims_file(Path(args.golden)):  # a claims file scores `rag check`
        return _eval_claims(args, corpus)
    run = evaluate_file(Path(args.golden), _settings(args), corpus=corpus, limit=args.limit, progress=sys.stderr.isatty(), filters=_filters(args),
                        originals=Path(args.originals) if args.originals else None)
    if args.json:
        _print_json(run.to_dict())
    else:
        print(format_table(run))
    if args.report:
        for path in write_report(run, Path(args.report)):
            print(f"wrote {path}", file=sys.stderr)
    return 1 if run.gate_failures else 0


def _eval_claims(args: argparse.Namespace, corpus: Path | None) -> int:
    from ..eval.claims import format_claims, load_claims, run_claims, summarise_claims
    from ..eval.run import eval_assistant

    cases = load_claims(Path(args.golden))[: args.limit]
    with eval_assistant(_settings(args), corpus) as assistant:
        results = run_claims(assistant, cases, progress=sys.stderr.isatty())
    if args.json:
        _print_json({"overall": summarise_claims(results), "cases": [r.to_dict() for r in results]})
    else:
        print(format_claims(results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Question answering over news articles with verified citations.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--index", help="index folder (default: index/ or RAG_INDEX_DIR)")
        return p

    def add_filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD, YYYY-MM or YYYY; inferred dates count, undated articles are left out)")
        p.add_argument("--until", help="only articles published on or before this date")
        p.add_argument("--source", help="only articles from this file, site or feed (name as `rag sources` shows it)")

    p = add("ingest", cmd_ingest, "Build or update the index from article files.")
    p.add_argument("paths", nargs="*", help="files or folders (default: seeds/)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--watch", action="store_true", help="keep running: ingest files as they are added, changed or removed (Ctrl-C stops)")

    p = add("search", cmd_search, "Show the passages retrieved for a query.")
    add_filters(p)
    p.add_argument("query")
    p.add_argument("-k", type=int, default=None, help="number of passages")
    p.add_argument("--json", action="store_true")

    for name, func, text in (("ask", cmd_ask, "Answer a question with verified citations."), ("chat", cmd_chat, "Interactive Q&A with follow-up questions.")):
        p = add(name, func, text)
        if name == "ask":
            add_filters(p)
            p.add_argument("question")
            p.add_argument("--json", action="store_true")
        p.add_argument("--backend", choices=["local", "openai", "fake"], help="LLM backend (default: local)")
        p.add_argument("-k", type=int, default=None, help="passages given to the LLM")

    p = add("sources", cmd_sources, "List the indexed articles: file, published date, size, title.")
    p.add_argument("--json", action="store_true")

    p = add("check", cmd_check, "Fact-check a claim against the articles: supported, contradicted or not found.")
    add_filters(p)
    p.add_argument("claim")
    p.add_argument("--json", action="store_true")
    p.add_argument("--backend", choices=["local", "openai", "fake"], help="LLM backend that judges (default: local)")

    add("model", cmd_model, "Assemble and checksum the local model file.")

    p = add("doctor", cmd_doctor, "Check that this installation can answer: versions, CPU and runtime, model file, index, a real generation.")
    p.add_argument("--verify", action="store_true", help="re-hash the model file with sha256 instead of trusting its size stamp")
    p.add_argument("--no-generate", action="store_true", help="skip loading the model and generating a few tokens")
    p.add_argument("--no-index", action="store_true", help="skip the index check (before the first `rag ingest`)")
    p.add_argument("--json", action="store_true")

    p = add("serve", cmd_serve, "Serve the chat UI (at /) and the OpenAI-compatible HTTP API (at /v1) from one process.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1; others need RAG_API_KEYS)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--backend", choices=["local", "openai", "fake"], help="LLM backend (default: local)")

    p = add("eval", cmd_eval, "Score answers against a golden question set.")
    add_filters(p)
    p.add_argument("golden", nargs="?", default="evals/golden.jsonl", help="golden JSONL file (default: evals/golden.jsonl)")
    p.add_argument("--corpus", help="build a temporary index from this folder instead of using --index")
    p.add_argument("--json", action="store_true", help="print every case and the summary as JSON")
    p.add_argument("--report", help="write summary.md, report.html and eval.json to this folder")
    p.add_argument("--backend", choices=["local", "openai", "fake"], help="LLM backend (default: local)")
    p.add_argument("--limit", type=int, default=None, help="only the first N cases")
    p.add_argument("--originals", help="golden file of the questions a paraphrase file rewords: they are asked too, and the report gives how often all wordings agree")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a RAG_* environment variable or .env line Settings cannot read
        print(f"error: {setting_problem(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
