"""XML clean-up before parsing: characters XML 1.0 forbids, the declaration rewritten to
UTF-8, and the control characters no stored text may keep."""

from __future__ import annotations

import re

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ILLEGAL_REF = re.compile(
    r"&#(?:0*(?:[0-8]|1[1-2]|1[4-9]|2\d|3[01])|[xX]0*(?:[0-8]|[bBcCeEfF]|1[0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2}|[fF]{3}[eEfF]));"
)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>\s*")


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Drop C0/C1 control characters (keeping tab and line breaks): item text reaches
    terminals, logs and mail, where ESC and CSI sequences must never arrive."""
    return _CONTROLS.sub("", text)


def clean_xml_text(text: str) -> str:
    """Drop characters (and numeric references to them) that XML 1.0 forbids."""
    text = _ILLEGAL_XML.sub("", text.removeprefix("\ufeff"))
    return _ILLEGAL_REF.sub("", text)


def fix_xml_declaration(text: str) -> str:
    """Replace any XML declaration with one that says UTF-8 (the bytes we hand on)."""
    m = _XML_DECL.match(text)
    if m:
        return '<?xml version="1.0" encoding="utf-8"?>\n' + text[m.end():]
    return text
