"""The edges that translate between the outside and the library: the ``rag`` command
(``cli``), the chat UI's text (``chat``), the per-process assistant cache (``engines``) and
the chat feedback store (``feedback``). No retrieval or prompting logic here."""
