"""Alerts: who hears about an incident, when, and how.

``render`` turns an incident (or a digest, a rate-cap summary, a system notice) into one
:class:`~monitor.models.Message` that every channel shows alike; ``channels`` delivers
one message to one target (email, generic webhook, WeCom, DingTalk, Feishu). Routing,
planning, the outbox worker, escalation and digests live beside them.
"""
