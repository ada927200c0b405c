"""Incidents: one story, however many sources report it.

``similarity`` owns the near-duplicate key (is this item the same story as an incident's
items?); ``absorb`` decides which incident an item joins; ``lifecycle`` the transitions and
response clocks. Pure functions: time comes in as ``now=``, the store as a parameter.
"""
