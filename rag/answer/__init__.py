"""Answering a question: the engine (``engine.Assistant``), the one prompt builder and passage
fence (``prompt``), compaction, news-aware evidence, article-level answers, verification and
the ``Answer`` builder (``result``). The front door is re-exported by ``rag``."""
