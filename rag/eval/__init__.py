"""``rag eval``: golden files (``golden``), pure metrics (``metrics``), running an assistant over
the cases (``run``) and the table / HTML / JSON reports (``report``)."""
