"""Collection servers: pulls from KoboToolbox and ODK Central, and Kobo REST Services pushes.

``kobo`` and ``odk_central`` fetch a connection's new submissions page by page (``fetch``: timeouts,
a size limit per page, links followed only on the server's own address) into one ``fetch.Spool`` — an
unnamed temporary file, never a named plaintext file — which ``pulls`` imports as one batch through
``import_service.import_file``, read by the same readers as an uploaded export (``readers/kobo.py``,
``readers/odk.py``). ``pulls`` runs them as background jobs (django-tasks) and queues the scheduled
ones; ``push`` receives the submissions a Kobo REST Service posts; ``connections`` creates and reads
connections (credentials encrypted, the push secret kept as a hash).
"""
