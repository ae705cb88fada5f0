"""Text without context: the word list and word features (``words``), sentence spans
(``sentences``) and dates in news text (``dates``). Imports nothing else from ``rag``."""
