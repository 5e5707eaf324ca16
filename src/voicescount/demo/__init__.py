"""The demo study: a synthetic, seeded survey shaped like the Vietnamese CSO coalition's 2022 CGD survey.

``survey`` builds the questionnaire (an XLSForm) and its submissions in KoboToolbox's API v2 shape,
``definitions`` the indicator definitions and study metadata, ``official`` illustrative official series to
compare with. Nothing here is real data; ``voicescount demo`` loads it into the database.
"""
