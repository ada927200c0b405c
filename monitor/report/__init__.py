"""Reporting: statistics of a period (``stats``) and the annual report section built from
them (composition, charts, and the docx / Markdown / HTML renderers)."""
