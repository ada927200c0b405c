"""Incidents: scored items at blue or above become stories, one however many sources
report it.

``similarity`` owns the near-duplicate key (is this item the same story as an
incident's items?); ``absorb`` decides, purely, how an item changes an incident (its
level, its spread); ``intake`` applies those decisions to the store item by item;
``lifecycle`` holds the handling steps (acknowledge, resolve, reopen, level by hand) and
the response clocks. Nothing here sends anything: the alerts stage turns the events into
deliveries.
"""
