"""The index and searching it: the on-disk format and manifest (``store``), the embedders
(``embed``) and hybrid dense + BM25 retrieval (``retrieve``). Knows nothing about answering."""
