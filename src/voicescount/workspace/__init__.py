"""The coordinators' workspace: every step of a study's workflow as a page (issue 14).

Views only: each part's rules live in its domain app's services (accounts, collection, indicators),
and every permission comes from ``accounts.permissions``. One module per part: ``views_<part>.py``
with its ``urls_<part>.py`` and ``templates/workspace/<part>*.html``.
"""
