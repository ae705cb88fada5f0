"""Files to index entries: find and read files (``files``), clean them (``clean``), chunk them
(``chunk``), and bring the index in line with a corpus folder incrementally (``run.ingest``)."""
