"""`python -m bench.store_rows [--sizes 100000] [--queries 200] [--out BENCHMARKS.md]`: the FAISS
and PostgreSQL index stores side by side, through the product's own retrievers.

Per size: search p50/p95 (dense top 10, lexical, hybrid = both fused by RRF as ``Assistant.search``
retrieves) and recall@10 of each store's approximate dense index against exact search; search
throughput with 20 concurrent clients; PostgreSQL's lexical search before and after postings
(scoring every matching chunk against the bounded candidates, with the recall of the second);
the time to build each store and the PostgreSQL database's size. Separately, the product's write
paths (``PgWriter``, ``write_index``), embedding excluded (it costs the same for both stores).

The data (synthesised) and the cached stores are ``store_build``'s. The section between the
``store-bench`` markers of BENCHMARKS.md is replaced and the rest of the file is kept; ``--render``
rewrites it from the last run's figures. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .report import machine, percentile, vector_flags
from .store_build import CACHE, QueryVectors, chunk_objects, document_objects, exact_top, faiss_store, pg_store, synthesise, write_path

MARK = "store-bench"  # the section between <!-- store-bench:begin --> and <!-- store-bench:end -->


# -- measuring ------------------------------------------------------------------------------------
def timed(fn, queries: list[str]) -> list[float]:  # noqa: ANN001
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        out.append(time.perf_counter() - t)
    return out


def concurrent_qps(fn, queries: list[str], clients: int = 20, seconds: float = 10.0) -> float:  # noqa: ANN001
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def client(c: int) -> None:
        i = c
        while time.perf_counter() < stop:
            fn(queries[i % len(queries)])
            done[c] += 1
            i += clients

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return sum(done) / seconds


def lexical_before_after(pg_index, sets: dict[str, list[str]], k: int) -> dict:  # noqa: ANN001
    """PostgreSQL lexical search two ways, query by query in turn (same load for both): scoring
    every chunk holding a query word (``EXACT``, what the product did before postings, and
    the reference: it ranks as bm25s, see tests) and the product's bounded candidates
    (``PgRetriever.sparse``); p50/p95 of each and recall@10 of the second against the first."""
    from collections import Counter

    from rag.index.pg import BM25_B, BM25_K1, bm25_tokens, tsquery_any
    from rag.index.pg_retrieve import EXACT, PgRetriever

    retriever = PgRetriever(pg_index, QueryVectors({}), candidate_k=k, rrf_k=60)
    out = {}
    for name, queries in sets.items():
        before_t, after_t, recalls = [], [], []
        for q in queries:
            times = Counter(bm25_tokens(q))
            params = {"lexemes": list(times), "times": list(times.values()), "query": tsquery_any(list(times)), "k": k, "k1": BM25_K1, "b": BM25_B}
            t = time.perf_counter()
            exact = [r[1] for r in pg_index.db.rows(EXACT.format(where=""), params) if r[1] > 0][:10]
            before_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            got = [score for _, score, _, _ in retriever._sparse(q, k)][:10]
            after_t.append(time.perf_counter() - t)
            if exact:  # a chunk as good as the exact 10th counts: ties are many (flat synthetic lengths)
                recalls.append(sum(s >= exact[-1] * (1 - 1e-9) for s in got) / len(exact))
        ms = lambda xs, p: round(1000 * percentile(xs, p), 2)  # noqa: E731
        out[name] = {"queries": len(queries), "before_p50": ms(before_t, 0.5), "before_p95": ms(before_t, 0.95),
                     "after_p50": ms(after_t, 0.5), "after_p95": ms(after_t, 0.95),
                     "recall@10": round(float(np.mean(recalls)), 4), "worst_recall@10": round(min(recalls), 2)}
    return out


def ef_curve(pg_index, queries: np.ndarray, truth: np.ndarray, row_of_key: dict, restore: int, efs=(96, 200, 400, 800)) -> list[dict]:  # noqa: ANN001
    """pgvector's dense top 10 at several ef_search values on one connection: recall@10 against
    exact search and p50 / p95 (the price of the recall), after the product's own searches warmed the cache."""
    out = []
    with pg_index.db.pool.connection() as conn:
        for ef in efs:
            conn.execute(f"SET hnsw.ef_search = {int(ef)}")
            times, recalls = [], []
            for q, exact in zip(queries, truth.tolist()):
                t = time.perf_counter()
                keys = [k for (k,) in conn.execute("SELECT chunk_key FROM chunks ORDER BY embedding <=> %s LIMIT 10", (q,)).fetchall()]
                times.append(time.perf_counter() - t)
                recalls.append(len({row_of_key[k] for k in keys} & set(exact)) / 10)
            out.append({"ef_search": ef, "recall@10": round(float(np.mean(recalls)), 4),
                        "p50": round(1000 * percentile(times, 0.5), 2), "p95": round(1000 * percentile(times, 0.95), 2)})
        conn.execute(f"SET hnsw.ef_search = {int(restore)}")  # the pool's own setting
    return out


def measure_size(n: int, n_queries: int, log, seconds: float = 10.0, kinds: tuple[str, ...] = ("faiss", "postgres"),
                 before_after: bool = True) -> tuple[dict, object]:  # noqa: ANN001
    from rag import Settings
    from rag.index.stores import make_retriever

    log(f"size {n}: synthesising ...")
    # Twice the queries: the second half only warms the store (as a server that has been
    # answering for a while), the first half is timed, so no timed query finds its own pages
    # cached by an earlier timed search of the same query.
    vectors, texts, queries, query_texts, common = synthesise(n, 2 * n_queries)
    embedder = QueryVectors(dict(zip(query_texts, queries)))
    warm, warm_common = query_texts[n_queries:], common[n_queries:]
    queries, query_texts, common = queries[:n_queries], query_texts[:n_queries], common[:n_queries]
    truth = exact_top(vectors, queries)
    settings = Settings(index_dir=CACHE / "unused", store="postgres", embed_backend="fake")
    chunks = chunk_objects(texts)
    docs = document_objects(chunks)
    result: dict = {"n": n, "queries": n_queries, "ef_search": settings.hnsw_ef_search}
    stores = {}
    if "faiss" in kinds:  # left out, PostgreSQL is measured alone on the machine (no FAISS store in memory)
        index, result["faiss_build"] = faiss_store(n, vectors, chunks, docs, settings, log)
        stores["FAISS"] = make_retriever(index, embedder, candidate_k=settings.candidate_k, rrf_k=settings.rrf_k)
    pg_index, result["pg_build"], result["pg_sizes"], server = pg_store(n, vectors, chunks, docs, settings, embedder, log)
    stores["PostgreSQL"] = make_retriever(pg_index, embedder, candidate_k=settings.candidate_k, rrf_k=settings.rrf_k)
    row_of_key = {c.id: i for i, c in enumerate(chunks)}
    for name, retriever in stores.items():
        log(f"  {name}: searching ...")
        for q in warm:  # warm caches and connections with other queries than the timed ones
            retriever.retrieve(q, settings.top_k)
        for q in warm_common[:50]:
            retriever.sparse(q, settings.candidate_k)
        dense_ids = []
        dense_t = []
        for q in query_texts:
            t = time.perf_counter()
            if name == "FAISS":
                rows = [r for r, _ in retriever.dense(q, 10)]
            else:
                rows = [row_of_key[c.id] for _, _, _, c in retriever._dense(q, 10)]
            dense_t.append(time.perf_counter() - t)
            dense_ids.append(rows)
        recall = float(np.mean([len(set(r) & set(t)) / 10 for r, t in zip(dense_ids, truth.tolist())]))
        lexical_t = timed(lambda q: retriever.sparse(q, settings.candidate_k), query_texts)
        common_t = timed(lambda q: retriever.sparse(q, settings.candidate_k), common[:50])
        hybrid_t = timed(lambda q: retriever.retrieve(q, settings.top_k), query_texts)
        qps = concurrent_qps(lambda q: retriever.retrieve(q, settings.top_k), query_texts, seconds=seconds)
        ms = lambda xs, p: round(1000 * percentile(xs, p), 2)  # noqa: E731
        result[name] = {"recall@10": round(recall, 4), "dense_p50": ms(dense_t, 0.5), "dense_p95": ms(dense_t, 0.95),
                        "lexical_p50": ms(lexical_t, 0.5), "lexical_p95": ms(lexical_t, 0.95),
                        "common_p50": ms(common_t, 0.5), "common_p95": ms(common_t, 0.95),
                        "hybrid_p50": ms(hybrid_t, 0.5), "hybrid_p95": ms(hybrid_t, 0.95), "qps_20_clients": round(qps, 1)}
    if n >= 1_000_000:
        log("  PostgreSQL dense recall against ef_search ...")
        result["pg_ef_curve"] = ef_curve(pg_index, queries, truth, row_of_key, settings.hnsw_ef_search)
    # Would fusing in SQL save time? At most one round trip (the two searches in one statement).
    from rag.index.retrieve import fuse

    trip = timed(lambda q: pg_index.db.one("SELECT 1"), query_texts)
    lists = [list(range(20)), list(range(10, 30))]
    fuse_t = timed(lambda q: fuse(lists[0], lists[1], 60), query_texts)
    result["round_trip_ms"], result["fuse_ms"] = round(1000 * percentile(trip, 0.5), 3), round(1000 * percentile(fuse_t, 0.5), 4)
    if not before_after:  # scoring every matching chunk takes seconds a query at 1M: ~20 min
        log(json.dumps(result))
        return result, server
    log("  PostgreSQL lexical, before and after postings ...")
    sets = {"rare words": query_texts[:100], "3 common words": common[:50], "2 common words": [" ".join(q.split()[:2]) for q in common[:50]]}
    result["pg_lexical"] = lexical_before_after(pg_index, sets, settings.candidate_k)
    log(json.dumps(result))
    return result, server


def markdown(results: list[dict], writes: dict, command: str, seconds: float, where: str) -> str:
    ef = results[-1].get("ef_search", 96)  # runs before it was recorded used 96
    lines = [
        ("## Index stores: FAISS and PostgreSQL + pgvector (`python -m bench.store_rows`)" if "FAISS" in results[-1]
         else "### PostgreSQL + pgvector alone on the machine (`python -m bench.store_rows --stores postgres`)"),
        "",
        f"Command: `{command}` ({seconds / 60:.0f} min, building the stores included; a rerun reuses them). {where}.",
        "Synthesised data, not real embeddings or articles: unit vectors around 1,024 random centres (384 dimensions) "
        "and ~120-word texts from a Zipf law over 50,000 made-up words; each query is a chunk's vector plus noise "
        "with three of that chunk's rarest words. Before the timed runs each store answers as many other such queries "
        "(and 50 other common-word ones): a warm server, but no timed query finds pages its own earlier search cached. "
        "Stores searched through the product's retrievers "
        f"(`Retriever`, `PgRetriever`), query embedding excluded; HNSW m=32, ef_construction=80, ef_search={ef} in both "
        "(PostgreSQL: the two searches of a hybrid query at once, on two connections); "
        "PostgreSQL 16.2 + pgvector 0.6.2 from pgserver, default server settings, over its Unix socket.",
        "",
        "| chunks | store | dense top-10 p50 / p95 | recall@10 vs exact | lexical (BM25), rare words p50 / p95 | lexical, 3 common words p50 / p95 | hybrid p50 / p95 | hybrid, 20 concurrent clients |",
        "|---:|---|---|---:|---|---|---|---:|",
    ]
    for r in results:
        for name in ("FAISS", "PostgreSQL"):
            if name not in r:
                continue
            m = r[name]
            lines.append(f"| {r['n']:,} | {name} | {m['dense_p50']} / {m['dense_p95']} ms | {m['recall@10']:.3f} | "
                         f"{m['lexical_p50']} / {m['lexical_p95']} ms | {m['common_p50']} / {m['common_p95']} ms | {m['hybrid_p50']} / {m['hybrid_p95']} ms | {m['qps_20_clients']} searches/s |")
    lines += ["", "Build times of a store reused from the cache are those of the run that built it (on a machine shared with other work).",
              "", "| chunks | build | PostgreSQL size | per million chunks |", "|---:|---|---|---|"]
    for r in results:
        f, p, s = r.get("faiss_build"), r["pg_build"], r["pg_sizes"]
        build = ((f"FAISS: HNSW {f['hnsw_s']:.0f} s, bm25s {f['bm25_s']:.0f} s; " if f else "FAISS: not built; ") + f"PostgreSQL: COPY {p['load_s']:.0f} s, "
                 f"lexicon {p['lexicon_s']:.0f} s, GIN {p['gin_s']:.0f} s, HNSW {p['hnsw_s']:.0f} s"
                 + (f"; postings (migration {p['migrated_to']} on the loaded database, as `rag ingest` upgrades one) {p['migrate_s']:.0f} s" if "migrate_s" in p else ""))
        size = ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in s.items())
        per = f"{s['database'] / r['n'] * 1e6 / 2**30:.1f} GiB"
        lines.append(f"| {r['n']:,} | {build} | {size} | {per} |")
    lines += [
        "",
        f"Write path, embedding excluded (4,096 chunks): FAISS `write_index` {writes['faiss']:,.0f} chunks/s "
        f"(it writes a whole new version each time); PostgreSQL `PgWriter`, first ingest {writes['postgres_first']:,.0f} chunks/s "
        f"(one transaction, the HNSW index built once at the end), incremental {writes['postgres_incremental']:,.0f} chunks/s "
        "(a transaction per 256 chunks into tables with their HNSW, GIN and postings indexes: each row is inserted into the HNSW graph). "
        "Embedding with MiniLM runs at ~40 chunks/s on 2 idle cores (../shared/OFFLINE.md) for either store.",
        "",
        *lexical_rows(results),
        "",
        f"Fusion in Python, not SQL: fusing two lists of 20 takes {results[-1]['fuse_ms']} ms and one round trip to the "
        f"server {results[-1]['round_trip_ms']} ms (p50); one statement for both searches could save at most that round trip.",
        "",
        "Reading these: each query lies near an indexed chunk (an easy case; real questions are farther from their "
        f"passages), so a recall@10 below 1.000 is the approximate index losing near neighbours at ef_search {ef}.",
    ]
    big = results[-1]
    if big.get("pg_ef_curve"):
        lines += ["", f"PostgreSQL dense recall@10 and latency against ef_search at {big['n']:,} chunks (the same queries, one connection, after the runs above):", "",
                  "| ef_search | recall@10 | p50 / p95 |", "|---:|---:|---|"]
        lines += [f"| {e['ef_search']} | {e['recall@10']:.3f} | {e['p50']} / {e['p95']} ms |" for e in big["pg_ef_curve"]]
    if big["n"] >= 1_000_000:
        m = big["PostgreSQL"]
        met = m["hybrid_p50"] <= 50 and m["recall@10"] >= 0.95
        lexical = big.get("pg_lexical", {})
        lines += [
            "",
            f"**Goal at {big['n']:,} chunks** (PostgreSQL hybrid p50 <= 50 ms with recall@10 >= 0.95): hybrid p50 "
            f"{m['hybrid_p50']} ms, dense recall@10 {m['recall@10']:.4f}"
            + (f" (FAISS {big['FAISS']['recall@10']:.3f} with the same HNSW settings)" if "FAISS" in big else " (PostgreSQL alone on the machine)")
            + (", lexical recall@10 of the bounded postings " + ", ".join(f"{k} {v['recall@10']:.3f}" for k, v in lexical.items())
               if lexical else " (lexical recall not measured in this run)")
            + f": **{'met' if met else 'not met'}**. The goal's recall is the dense list's; the bounded postings lose some "
            "common-word matches (a deeper list per word is the lever, paid in latency and space).",
        ]
    else:
        import math

        n, p, m = big["n"], big["pg_build"], big["PostgreSQL"]
        grow, log_grow = 1e6 / n, math.log(1e6) / math.log(n)
        common = big.get("pg_lexical", {}).get("3 common words", {}).get("after_p50", m["common_p50"])
        rest = m["hybrid_p50"] - m["dense_p50"] - m["lexical_p50"]
        hybrid = m["dense_p50"] * log_grow + 2 * common + rest
        lines += [
            "",
            f"**1,000,000 chunks: not run, ESTIMATED** from {n:,} (building 1M on these 2 shared cores would take about "
            f"{(p['load_s'] * grow + p['hnsw_s'] * grow * log_grow + p['gin_s'] * grow) / 60:.0f} min: COPY ~{p['load_s'] * grow / 60:.0f} min, "
            f"HNSW ~{p['hnsw_s'] * grow * log_grow / 60:.0f} min if its graph fits maintenance_work_mem (~2 GB at 1M), GIN ~{p['gin_s'] * grow / 60:.0f} min). "
            f"Database ~{big['pg_sizes']['database'] / n * 1e6 / 2**30:.1f} GiB. Dense HNSW p50 grows about with log n: ~{m['dense_p50'] * log_grow:.0f} ms; "
            "the lexical side reads at most 200 postings per word, 2,000 chunks holding every common word and one probe per "
            "(candidate, word), whatever the corpus size; what grows is the GIN intersection (with the rarest common word's "
            f"chunks, x{grow:.0f}), the B-tree depth (a level), and cache misses (the database would pass this machine's RAM). "
            f"Taking twice the 100k common-word figure for that: lexical ~{2 * common:.0f} ms and PostgreSQL hybrid p50 "
            f"~{hybrid:.0f} ms for common-word queries (words rare at 100k are common at 1M and take the same bounded path), "
            "against the goal of 50 ms with recall@10 >= 0.95. Lexical recall at 1M is not known: a word's 200 best chunks "
            "are a smaller share of ten times more, so it should be measured before it is claimed.",
        ]
    return "\n".join(lines)


def lexical_rows(results: list[dict]) -> list[str]:
    """The PostgreSQL lexical search before and after postings, from ``lexical_before_after``."""
    from rag.index.pg_retrieve import ALL_COMMON_CAP, WORD_DEPTH

    if not any(r.get("pg_lexical") for r in results):
        return ["PostgreSQL lexical search before and after postings: not measured in this run (`--no-before-after`)."]
    lines = [
        "PostgreSQL lexical (BM25) search, top 20, before and after postings, timed query by query in turn in the same run. "
        "Before: every chunk holding any query word scored (the GIN index; this is also the reference, ranked as bm25s). "
        f"After: each word's {WORD_DEPTH} best chunks by impact, plus up to {ALL_COMMON_CAP:,} chunks holding every common word "
        f"(a word in more than {WORD_DEPTH} chunks), all scored exactly. Recall@10 of the after list against the before list; "
        "a chunk scoring as the exact 10th counts as found (the flat synthetic lengths make many exact ties).",
        "",
        "| chunks | queries | before p50 / p95 | after p50 / p95 | p50 before / after | recall@10 (mean, worst query) |",
        "|---:|---|---|---|---:|---|",
    ]
    for r in results:
        for name, m in r.get("pg_lexical", {}).items():
            lines.append(f"| {r['n']:,} | {m['queries']} x {name} | {m['before_p50']} / {m['before_p95']} ms | {m['after_p50']} / {m['after_p95']} ms | "
                         f"{m['before_p50'] / max(m['after_p50'], 1e-9):.1f}x | {m['recall@10']:.3f}, {m['worst_recall@10']:.1f} |")
    s = results[-1]["pg_sizes"]
    if "postings (table)" in s:
        postings = s["postings (table)"] + s["postings indexes"]
        lines += ["", f"The price is space: postings take {postings / 2**20:,.0f} MiB at {results[-1]['n']:,} chunks "
                  f"({postings / (s['database'] - postings):.0%} on top of the rest of the database), and every ingested chunk writes ~80 more rows."]
    return lines


def write_section(out: Path, section: str, mark: str = MARK) -> None:
    BEGIN, END = f"<!-- {mark}:begin -->", f"<!-- {mark}:end -->"
    text = out.read_text(encoding="utf-8") if out.is_file() else "# Benchmarks\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    out.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_rows", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated chunk counts (default 100000)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the 20-client throughput run")
    parser.add_argument("--out", default="BENCHMARKS.md")
    parser.add_argument("--stores", default="faiss,postgres",
                        help="faiss,postgres (default) or postgres: PostgreSQL alone on the machine, in its own section")
    parser.add_argument("--no-before-after", action="store_true", help="skip the lexical search without postings (slow at 1M)")
    parser.add_argument("--render", action="store_true", help="only rewrite the section from the last run's figures")
    args = parser.parse_args(argv)
    kinds = tuple(sorted(args.stores.split(",")))
    if not set(kinds) <= {"faiss", "postgres"} or "postgres" not in kinds:
        parser.error("--stores: faiss,postgres or postgres")
    mark = MARK if "faiss" in kinds else f"{MARK}-postgres-alone"
    last_json = CACHE / ("last.json" if mark == MARK else f"last-{mark}.json")
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if args.render:
        last = json.loads(last_json.read_text())
        write_section(Path(args.out), markdown(last["results"], last["writes"], last["command"], last["seconds"], last["machine"]), mark)
        return 0
    began = time.perf_counter()
    from rag import Settings

    results, server = [], None
    for n in args.sizes.split(","):
        result, server = measure_size(int(n), args.queries, log, args.seconds, kinds, not args.no_before_after)
        results.append(result)
    log("write path ...")
    writes = write_path(Settings(embed_backend="fake"), QueryVectors({}), server)
    command = f".venv/bin/python -m bench.store_rows --sizes {args.sizes} --queries {args.queries} --seconds {args.seconds:g}" + (
        "" if mark == MARK else f" --stores {args.stores}") + (" --no-before-after" if args.no_before_after else "")
    seconds, where = time.perf_counter() - began, machine()[0].replace(";", vector_flags() + ";", 1)
    last_json.write_text(json.dumps({"results": results, "writes": writes, "command": command, "seconds": seconds, "machine": where}, indent=2))
    section = markdown(results, writes, command, seconds, where)
    print(section)
    write_section(Path(args.out), section, mark)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
