"""Credentials carried inside URLs: user info and secret query / connection properties.

Secrets never go into Spark conf, pod environment variables or anything else that is logged,
rendered or stored with a run (the developers' guide). A value may hold URLs anywhere (a whole
value, a comma-separated list, ``-Dkey=<url>`` inside JVM options); every URL is parsed with
:func:`urllib.parse.urlsplit` (RFC 3986: the user info is everything before the LAST ``@`` of
the authority), never matched by a pattern, so these are all found:

- user info of any form: ``https://user:pass@host``, ``redis://:pass@host`` (no user name),
  ``https://<token>@github.com`` (a token as the user name), ``postgresql://u:p@ss@host``
  (an ``@`` in the password), ``mysql://u:p%2Fw@[::1]:3306/db`` (encoded, IPv6 host),
  ``mongodb+srv://u:p@h1,h2/db`` and JDBC URLs (``jdbc:mysql://u:p@host``, ``jdbc:mysql:loadbalance://``);
- secret query or connection properties: ``?user=app&password=...``, SQL Server's
  ``;password=...``, ``sslpassword``, ``access_token``, Azure SAS ``sig=``, S3 presigned
  ``X-Amz-Signature`` / ``X-Amz-Credential`` / ``X-Amz-Security-Token``;
- Oracle's thin driver form ``jdbc:oracle:thin:scott/tiger@host:1521:orcl`` (no ``//``).

The findings name the URL's scheme and host and what was found, never the secret.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, urlsplit

SECRET_PARAMETERS = (
    "password",
    "pwd",
    "passwd",
    "pass",
    "*password*",
    "*secret*",
    "*token*",
    "*credential*",
    "*apikey*",
    "*api_key*",
    "*access_key*",
    "*accesskey*",
    "*private_key*",
    "sig",
    "x-amz-signature",
)
"""Query / connection property names (case-insensitive, ``fnmatch`` patterns) whose value is a secret."""

_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-:")
_ORACLE_PREFIX = "jdbc:oracle:"


def _url_starts(token: str) -> list[int]:
    """Where each ``<scheme>://`` URL inside ``token`` starts (JDBC sub-schemes included)."""
    starts = []
    position = token.find("://")
    while position != -1:
        start = position
        while start > 0 and token[start - 1] in _SCHEME_CHARS:
            start -= 1
        if start < position and token[start].isalpha():
            starts.append(start)
        position = token.find("://", position + 3)
    return starts


def _is_secret_parameter(name: str) -> bool:
    key = name.strip().lower()
    return any(fnmatchcase(key, pattern) for pattern in SECRET_PARAMETERS)


def _properties(url: str, query: str) -> list[tuple[str, str]]:
    """``key=value`` pairs of the query and of ``;``-separated JDBC connection properties."""
    pairs = parse_qsl(query, keep_blank_values=False)
    for segment in url.split(";")[1:]:
        for part in segment.split("?")[0].split("&"):
            name, _, value = part.partition("=")
            if value:
                pairs.append((name, value))
    return pairs


def _oracle_findings(token: str) -> list[str]:
    """``jdbc:oracle:<driver>:<user>/<password>@<database>`` (Oracle JDBC's user/password form)."""
    lowered = token.lower()
    start = lowered.find(_ORACLE_PREFIX)
    if start == -1:
        return []
    driver, _, rest = token[start + len(_ORACLE_PREFIX) :].partition(":")
    userinfo, at, _ = rest.rpartition("@")
    if at and "/" in userinfo and not userinfo.startswith("/"):
        return [f"a user/password before '@' in a jdbc:oracle:{driver} URL"]
    return []


def _url_findings(url: str) -> list[str]:
    scheme_path, _, _ = url.partition("://")
    scheme = scheme_path.rsplit(":", 1)[-1].lower()
    try:
        parts = urlsplit(f"{scheme}://{url.split('://', 1)[1]}")
        netloc = parts.netloc.split(";")[0]  # JDBC properties may follow the port
        authority = urlsplit(f"{scheme}://{netloc}")
        authority.port  # noqa: B018 - raises ValueError for a port that is not a number
        host = authority.hostname or ""
    except ValueError:
        # e.g. an unencoded '/' in a password: 'u:pa/ss@host' parses as host 'u', port 'pa'
        return [f"a {scheme}:// URL that cannot be parsed (so it cannot be checked for credentials)"]
    where = f"a {scheme}:// URL (host {host or '?'})"
    found = []
    if "@" in netloc:
        userinfo = netloc.rpartition("@")[0]
        what = "a password" if ":" in userinfo else "a user name (user info can carry a token)"
        found.append(f"{where} with user info: {what}")
    secret_names = sorted({n for n, _ in _properties(url, parts.query) if _is_secret_parameter(n)})
    if secret_names:
        found.append(f"{where} with secret parameter(s) {secret_names}")
    return found


def url_credentials(value: str) -> list[str]:
    """What in ``value`` is a credential inside a URL (descriptions without the secret); ``[]``
    when there is none. See the module docstring for the forms."""
    findings: list[str] = []
    for token in str(value).replace(",", " ").split():
        findings += _oracle_findings(token)
        starts = _url_starts(token)
        for index, start in enumerate(starts):
            end = starts[index + 1] if index + 1 < len(starts) else len(token)
            findings += _url_findings(token[start:end])
    return findings
