"""Hide the secrets that URLs carry before a URL reaches a person: a status line, a log
line, an error message, a config dump, an OPML export.

:func:`redact_url` is the one place that knows where URLs hide secrets:

- the userinfo: ``user:PASSWORD@`` keeps the user, a userinfo without a password
  (``https://TOKEN@host/``) is hidden whole;
- query and fragment parameters whose names look secret (``token``, ``access_token``,
  ``key``, ``sign``, ``password``, ``code``, ``X-Amz-Signature``, ``appSecret`` …, in any
  letter case and with prefixes or suffixes), see :func:`secret_name`;
- nested URLs carried as parameter values, plain or percent-encoded once or twice, which
  are redacted recursively;
- the random path segments of robot hooks (Feishu ``/open-apis/bot/v2/hook/<token>``,
  Slack ``/services/...``, Discord ``/api/webhooks/...``, ``/hooks/...``, Telegram
  ``/bot<token>/``).

Hidden values become ``***``. Everything else is kept exactly as written (no re-encoding,
no normalisation), so a redacted URL still says where it points. The split follows the
RFC 3986 (appendix B) grammar rather than :func:`urllib.parse.urlsplit`, because
``urlsplit`` strips tabs and newlines and forgets an empty ``?`` or ``#``, and so cannot
give the original text back; parameters are decoded with :func:`urllib.parse.parse_qsl`.

:func:`redact_text` applies :func:`redact_url` to every URL inside free text (error
messages), and masks every secret value registered with :func:`register_secret` (the
config registers what its declared secret fields hold and what their ``*_env`` variables
name, so an SMTP password or robot secret echoed in an error never reaches a log).
:func:`redact_error` is a delivery's error as people read it: redacted, and without the
(already masked) robot address. This module imports nothing from the package: every stage may use it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote

MASK = "***"
_MIN_SECRET = 4                   # shorter values would mask ordinary words
_SECRETS: set[str] = set()        # values to mask wherever they appear


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every text that :func:`redact_text` shows from now on."""
    if value and len(value) >= _MIN_SECRET:
        _SECRETS.add(value)

# RFC 3986, appendix B: scheme, authority, path, query, fragment; always matches.
_URI = re.compile(r"^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:(\?)([^#]*))?(?:(#)(.*))?$",
                  re.S)

# A name containing one of these (separators removed, any case) is secret.
_STRONG = ("token", "secret", "passw", "passphrase", "signature", "credential", "apikey",
           "accesskey", "privatekey", "sessionid", "sessid", "authorization", "ticket",
           "cookie", "bearer", "jwt")
# A name with one of these as a word (``app_key``, ``X-Sign``, ``authCode``) is secret ...
_WORDS = frozenset({"key", "pass", "pwd", "auth", "sign", "sig", "session", "sid", "code",
                    "ak", "sk", "otp", "hmac"})
# ... unless another word says what harmless thing it is (``search_key``, ``area_code``).
_HARMLESS = frozenset({
    "search", "sort", "order", "group", "word", "words", "page", "area", "zip", "post",
    "postal", "country", "region", "city", "province", "district", "county", "lang",
    "language", "locale", "stock", "product", "item", "error", "err", "status", "type",
    "class", "category", "cat", "currency", "dept", "org", "unit", "site", "channel",
    "column", "node", "qr", "bar", "color"})
# One-word compounds: ``appkey``, ``authcode``, ``userpwd``, ``vcode`` ...
_COMPOUND = re.compile(
    r"^(?:app|api|access|auth|secret|private|client|user|login|sms|verify|verification|v|"
    r"check|otp|oauth|session|master|dev|open|wx|mp|sign|pass|license|sub|encrypt|aes|"
    r"msg|req|security|captcha|invite|activation)(?:key|code|pwd|sign|sig|pass)$")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# Robot hooks whose secret is in the path: the prefix, then the segments to check
# (Slack's ``/services/`` only on a ``hooks.`` host: elsewhere it is an ordinary path).
_HOOK_PATHS = re.compile(r"/open-apis/bot/v2/hook/|/api/webhooks/|/hooks/", re.I)
_SLACK_PATH = re.compile(r"/services/", re.I)
_TELEGRAM_BOT = re.compile(r"/bot\d+:[\w-]+(?=/|$)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
# ``user:pa#ss@host``: a password with an unencoded ``/``, ``?`` or ``#`` ends the authority
# early (``u:pa`` is then a host with a bad port); the userinfo runs to the first ``@``
# that a host follows.
_BROKEN_USERINFO = re.compile(
    r"^([a-z][a-z0-9+.-]*://)([^/?#@:\[\]]*):(?!\d*(?:[/?#]|$))[^@]*@(?=[\w.\-\[\]:]+(?:[/?#]|$))",
    re.I)
# URLs inside free text stop at spaces, quotes, angle brackets and Chinese punctuation.
_URL_IN_TEXT = re.compile(r"[a-z][a-z0-9+.-]*://[^\s<>\"'`（）。，、；：“”‘’「」【】《》！？]+", re.I)


def secret_name(name: str) -> bool:
    """Whether a parameter name (``access_token``, ``X-Amz-Signature``, ``appKey``…)
    names a secret."""
    words = [w.lower() for w in _CAMEL.findall(name)]
    joined = "".join(words)
    if any(s in joined for s in _STRONG):
        return True
    if _WORDS.intersection(words) and not _HARMLESS.intersection(words):
        return True
    return any(_COMPOUND.match(w) for w in words)


def looks_random(text: str) -> bool:
    """A token rather than a word: long, or mixing letters and digits."""
    if len(text) >= 16:
        return True
    return len(text) >= 8 and any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def redact_url(url: str) -> str:
    """``url`` with its secrets replaced by ``***``; harmless parts kept as written.

    >>> redact_url("https://u:pw@example.org/rss?page=2&token=abc#sig=x")
    'https://u:***@example.org/rss?page=2&token=***#sig=***'
    """
    return _redact(url, depth=0)


_PLAIN_SEGMENT = re.compile(r"[a-z][a-z-]{0,15}|v\d{1,2}")


def redact_hook(url: str) -> str:
    """A webhook or robot URL, whose token may be anywhere: besides what
    :func:`redact_url` hides, every query value and every path segment that is not a
    plain lowercase word (``robot``, ``send``, ``open-apis``, ``v2``) becomes ``***``."""
    m = _URI.match(redact_url(url))
    if m is None:  # pragma: no cover - the grammar matches every string
        return MASK
    scheme, authority, path, qmark, query, hmark, fragment = m.groups()
    segments = [seg if not seg or seg == MASK or _PLAIN_SEGMENT.fullmatch(seg) else MASK
                for seg in path.split("/")]
    out = f"{scheme}://{authority}" if scheme and authority is not None else ""
    out += "/".join(segments)
    if qmark:
        params = [p.split("=", 1)[0] + "=" + MASK if "=" in p else p
                  for p in (query or "").split("&")]
        out += "?" + "&".join(params)
    if hmark:
        out += "#" + MASK if fragment else "#"
    return out


def hook_secrets(url: str) -> list[str]:
    """The pieces of a webhook or robot URL that :func:`redact_hook` hides (query values,
    path segments that are not plain words) and are long enough to be a token: registered
    as secrets, so they are masked wherever a library prints the URL (httpx's debug
    lines, say)."""
    m = _URI.match(url)
    if m is None:  # pragma: no cover - the grammar matches every string
        return []
    _scheme, _authority, path, _qmark, query, _hmark, _fragment = m.groups()
    found = [seg for seg in (path or "").split("/")
             if seg and not _PLAIN_SEGMENT.fullmatch(seg)]
    found += [p.split("=", 1)[1] for p in (query or "").split("&") if "=" in p]
    return [piece for piece in found if len(piece) >= 6]


def redact_text(text: str) -> str:
    """Free text (an error message) with :func:`redact_url` applied to every URL in it."""
    def one(m: re.Match[str]) -> str:
        found = m.group(0)
        core = found.rstrip(".,;:!?)]}")
        return redact_url(core) + found[len(core):]

    if "://" in text:
        text = _URL_IN_TEXT.sub(one, text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text



_ADDRESS_IN_PARENS = re.compile(r"\s*[（(]\s*[a-zA-Z][a-zA-Z0-9+.-]*://[^\s）)]*\s*[）)]")
_ADDRESS = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s）)，。；,;]+")


def redact_error(text: str | None) -> str | None:
    """A delivery's error as people read it (CLI, console): redacted again, and without
    the robot or webhook address the channel put in it (already masked; the channel
    says which one it was)."""
    if not text:
        return None
    text = _ADDRESS_IN_PARENS.sub("", redact_text(text))
    return _ADDRESS.sub("（地址已隐去）", text)

def _redact(url: str, depth: int) -> str:
    m = _URI.match(url)
    if m is None:  # pragma: no cover - the grammar matches every string
        return MASK
    scheme, authority, path, qmark, query, hash_, fragment = m.groups()
    if authority is not None and "@" not in authority:
        broken = _BROKEN_USERINFO.match(url)
        if broken:
            start, user = broken.groups()
            rest = _redact(start + url[broken.end():], depth)[len(start):]
            return f"{start}{MASK if looks_random(user) else user}:{MASK}@{rest}"
    out = f"{scheme}:" if scheme is not None else ""
    if authority is not None:
        out += "//" + _authority(authority)
    out += _path(path, _host(authority or ""))
    if qmark:
        out += "?" + _query(query, depth)
    if hash_:
        out += "#" + _fragment(fragment, depth)
    return out


def _authority(authority: str) -> str:
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return authority
    user, colon, password = userinfo.partition(":")
    if not colon:
        return f"{MASK}@{host}" if userinfo else authority
    if looks_random(unquote(user)):
        user = MASK
    return f"{user}:{MASK if password else ''}@{host}"


def _host(authority: str) -> str:
    return authority.rpartition("@")[2].lower()


def _path(path: str, host: str) -> str:
    path = _TELEGRAM_BOT.sub(f"/bot{MASK}", path)
    m = _HOOK_PATHS.search(path)
    if m is None and host.startswith("hooks."):
        m = _SLACK_PATH.search(path)
    if m is None:
        return path
    head, rest = path[:m.end()], path[m.end():]
    return head + "/".join(MASK if looks_random(unquote(s)) else s for s in rest.split("/"))


def _fragment(fragment: str, depth: int) -> str:
    """``#a=1&token=x`` is read as a query (OAuth puts tokens there), ``#/route?token=x``
    from its ``?`` on; any other fragment is kept."""
    if "?" in fragment:
        route, _, query = fragment.partition("?")
        return f"{route}?{_query(query, depth)}"
    if "=" in fragment:
        return _query(fragment, depth)
    return fragment


def _query(query: str, depth: int) -> str:
    return "&".join(_param(p, depth) for p in query.split("&"))


def _param(raw: str, depth: int) -> str:
    if not raw:
        return raw
    raw_name, eq, raw_value = raw.partition("=")
    pairs = parse_qsl(raw, keep_blank_values=True)
    name, value = pairs[0] if pairs else (raw_name, raw_value)
    if not eq:
        return MASK if looks_random(name) and not _SCHEME.match(name) else raw
    if not raw_value:
        return raw
    if secret_name(name):
        return f"{raw_name}={MASK}"
    nested = _nested(raw_value, value, depth)
    return raw if nested is None else f"{raw_name}={nested}"


def _nested(raw: str, decoded: str, depth: int) -> str | None:
    """A value that is itself a URL or a query, encoded up to twice: redacted and encoded
    again as deeply, or None when it holds no secret (the raw text is then kept)."""
    if depth >= 4:  # a URL inside a URL inside a URL ...: hide rather than recurse on
        return MASK if "=" in decoded or "@" in decoded else None
    layers = 1 if raw != decoded else 0
    for _ in range(3):
        if _SCHEME.match(decoded) or decoded.startswith(("/", "?")):
            inner = _redact(decoded, depth + 1)
        elif "=" in decoded:
            inner = _query(decoded, depth + 1)
        else:
            inner = decoded
        if inner != decoded:
            for _ in range(layers):
                inner = quote(inner, safe="*")
            return inner
        once = unquote(decoded)
        if once == decoded:
            return None
        decoded, layers = once, layers + 1
    return None
