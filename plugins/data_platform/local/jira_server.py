"""A small Jira Cloud stand-in speaking the parts of REST API v3 the ingestion uses.

Local and test only (never shipped). It keeps projects, issues with system and custom fields
(two custom fields share the name "Team", as Jira allows) and changelogs, on a simulated clock,
and serves:

- ``GET /rest/api/3/myself`` (with the account's ``timeZone``), ``GET /rest/api/3/field``;
- ``GET|POST /rest/api/3/search/jql``: a JQL subset (``project in/=``, ``id in``,
  ``updated|created >=|>|<=|<`` with ``"yyyy/MM/dd HH:mm"`` read in the account's time zone,
  ``AND``, ``ORDER BY``), bounded queries only, ``fields`` (``*all``, ``*navigable`` or ids),
  ``expand=changelog`` (at most 20 histories, the newest), ``nextPageToken`` paging (an offset
  into the live result: an edit during paging moves issues, as a real index may), no total;
- ``GET /rest/api/3/issue/{id}/changelog`` (paged), ``GET /rest/api/3/search`` -> 410;
- basic auth (email + API token), a rate limit (429 + ``Retry-After``) and injected failures.

Mutations (``create_issue``, ``edit_issue``, ``move_issue``, ``delete_issue``) advance the clock,
so every change gets a later ``updated``. ``calls`` counts the requests per path.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

SEARCH_CHANGELOG_LIMIT = 20
MAX_PAGE = 5000
STATUSES = {
    "To Do": ("new", "To Do", "10000"),
    "In Progress": ("indeterminate", "In Progress", "3"),
    "In Review": ("indeterminate", "In Progress", "10001"),
    "Done": ("done", "Done", "10002"),
}
CATEGORY_IDS = {"new": 2, "indeterminate": 4, "done": 3}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4"}
ISSUE_TYPES = {"Epic": ("10000", False), "Story": ("10001", False), "Task": ("10002", False), "Bug": ("10004", False), "Sub-task": ("10003", True)}  # fmt: skip
CUSTOM_FIELDS = [
    # id, name, schema type, custom type
    ("customfield_10016", "Story point estimate", "number", "com.atlassian.jira.plugin.system.customfieldtypes:float"),
    ("customfield_10020", "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint"),
    ("customfield_10100", "Team", "option", "com.atlassian.jira.plugin.system.customfieldtypes:select"),
    ("customfield_10101", "Team", "string", "com.atlassian.jira.plugin.system.customfieldtypes:textfield"),
    ("customfield_10102", "Customer impact", "string", "com.atlassian.jira.plugin.system.customfieldtypes:textarea"),
]  # fmt: skip
SYSTEM_FIELDS = [
    ("summary", "Summary", "string"), ("description", "Description", "string"), ("status", "Status", "status"),
    ("priority", "Priority", "priority"), ("issuetype", "Issue Type", "issuetype"), ("project", "Project", "project"),
    ("assignee", "Assignee", "user"), ("reporter", "Reporter", "user"), ("labels", "Labels", "array"),
    ("components", "Components", "array"), ("fixVersions", "Fix versions", "array"), ("parent", "Parent", "issuelink"),
    ("resolution", "Resolution", "resolution"), ("created", "Created", "datetime"), ("updated", "Updated", "datetime"),
    ("resolutiondate", "Resolved", "datetime"), ("duedate", "Due date", "date"),
]  # fmt: skip
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|[=<>(),])|(?P<word>[A-Za-z0-9_.\-/:]+))'
)


class JqlError(ValueError):
    pass


def _stable_id(name: str) -> str:
    return str(10000 + zlib.crc32(name.encode()) % 90000)


def jira_time(moment: datetime) -> str:
    """Jira's date-time format: ``2026-01-14T09:00:00.000+0000``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def adf(*paragraphs: str) -> dict[str, Any]:
    """An Atlassian Document Format document of plain paragraphs."""
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs],
    }


@dataclass
class User:
    account_id: str
    display_name: str
    email: str
    time_zone: str = "UTC"

    def ref(self, base: str) -> dict[str, Any]:
        return {
            "self": f"{base}/rest/api/3/user?accountId={self.account_id}",
            "accountId": self.account_id,
            "displayName": self.display_name,
            "emailAddress": self.email,
            "active": True,
            "timeZone": self.time_zone,
            "accountType": "atlassian",
        }


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    path_prefix: str = "/"
    times: int = 1


@dataclass
class JiraState:
    """Everything the stand-in knows; mutate it through the methods (they hold the lock)."""

    base_url: str = "http://127.0.0.1"
    email: str = "sync-bot@example.com"
    api_token: str = "local-api-token"
    time_zone: str = "Europe/Berlin"
    clock: datetime = datetime(2026, 1, 14, 8, 0, tzinfo=UTC)
    tick: timedelta = timedelta(minutes=3)
    rate_limit_every: int = 0  # every Nth request answers 429 (0: never)
    retry_after_seconds: int = 1
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    project_counters: dict[str, int] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    after_search_page: list[Callable[[int], None]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next_id: int = 10000
    _next_history: int = 50000
    _requests: int = 0

    # -- model ----------------------------------------------------------------------------------

    def add_project(self, key: str, name: str, project_id: str) -> None:
        self.projects[key] = {"id": project_id, "key": key, "name": name, "self": f"{self.base_url}/rest/api/3/project/{project_id}"}  # fmt: skip
        self.project_counters.setdefault(key, 0)

    def add_user(self, account_id: str, name: str, email: str) -> None:
        self.users[account_id] = User(account_id, name, email)

    def _now(self) -> datetime:
        self.clock += self.tick
        return self.clock

    def _status(self, name: str) -> dict[str, Any]:
        category_key, category_name, status_id = STATUSES[name]
        return {
            "id": status_id,
            "name": name,
            "statusCategory": {"id": CATEGORY_IDS[category_key], "key": category_key, "name": category_name},
        }

    def _user(self, account_id: str | None) -> dict[str, Any] | None:
        return self.users[account_id].ref(self.base_url) if account_id else None

    def _history(self, issue_id: str, author: str, items: list[dict[str, Any]], moment: datetime) -> None:
        self._next_history += 1
        self.histories.setdefault(issue_id, []).append(
            {"id": str(self._next_history), "author": self._user(author), "created": jira_time(moment), "items": items}
        )  # fmt: skip

    def _field_value(self, name: str, value: Any) -> Any:
        """The API representation of a value given in simple terms (names, ids, lists)."""
        if value is None:
            return None
        if name == "status":
            return self._status(value)
        if name == "priority":
            return {"id": PRIORITIES[value], "name": value}
        if name == "issuetype":
            type_id, subtask = ISSUE_TYPES[value]
            return {"id": type_id, "name": value, "subtask": subtask}
        if name in ("assignee", "reporter"):
            return self._user(value)
        if name == "components":
            return [{"id": _stable_id(c), "name": c} for c in value]
        if name == "fixVersions":
            return [{"id": _stable_id(v), "name": v, "released": False} for v in value]
        if name == "resolution":
            return {"id": "10000", "name": value}
        if name == "parent":
            parent = self.issues[value]
            return {
                "id": parent["id"],
                "key": parent["key"],
                "fields": {"summary": parent["fields"]["summary"]},
            }
        if name == "customfield_10100":
            return {"id": _stable_id(value), "value": value}
        if name == "customfield_10020":
            return [
                {
                    "id": s,
                    "name": f"Sprint {s}",
                    "state": "active" if s == max(value) else "closed",
                    "boardId": 1,
                }
                for s in value
            ]
        return value

    def create_issue(self, project: str, author: str, **values: Any) -> str:
        """Create an issue; ``values`` by field id in simple terms (``status="To Do"``...)."""
        with self.lock:
            moment = self._now()
            self._next_id += 1
            issue_id = str(self._next_id)
            self.project_counters[project] += 1
            fields: dict[str, Any] = {name: None for name, _, _ in SYSTEM_FIELDS}
            fields.update({cf[0]: None for cf in CUSTOM_FIELDS})
            fields.update(labels=[], components=[], fixVersions=[], reporter=self._user(author))
            values.setdefault("status", "To Do")
            values.setdefault("issuetype", "Task")
            for name, value in values.items():
                fields[name] = self._field_value(name, value)
            fields.update(
                project=self._project_ref(project), created=jira_time(moment), updated=jira_time(moment)
            )
            self.issues[issue_id] = {
                "id": issue_id,
                "key": f"{project}-{self.project_counters[project]}",
                "self": f"{self.base_url}/rest/api/3/issue/{issue_id}",
                "fields": fields,
            }
            self.histories[issue_id] = []
            return issue_id

    def _project_ref(self, key: str) -> dict[str, Any]:
        return dict(self.projects[key])

    def edit_issue(self, issue_id: str, author: str, **values: Any) -> None:
        """Change fields (simple terms); status changes are recorded in the changelog."""
        with self.lock:
            moment = self._now()
            fields = self.issues[issue_id]["fields"]
            items = []
            for name, value in values.items():
                new = self._field_value(name, value)
                if name == "status":
                    old = fields["status"]
                    items.append({"field": "status", "fieldtype": "jira", "fieldId": "status", "from": old["id"], "fromString": old["name"], "to": new["id"], "toString": new["name"]})  # fmt: skip
                    if STATUSES[value][0] == "done":
                        fields["resolution"] = self._field_value("resolution", "Done")
                        fields["resolutiondate"] = jira_time(moment)
                    else:
                        fields["resolution"] = fields["resolutiondate"] = None
                else:
                    items.append({"field": name, "fieldtype": "custom" if name.startswith("customfield_") else "jira", "fieldId": name, "from": None, "fromString": None, "to": None, "toString": str(value)})  # fmt: skip
                fields[name] = new
            fields["updated"] = jira_time(moment)
            self._history(issue_id, author, items, moment)

    def move_issue(self, issue_id: str, project: str, author: str) -> None:
        """Move to another project: a new key, the same id."""
        with self.lock:
            moment = self._now()
            issue = self.issues[issue_id]
            old_key = issue["key"]
            self.project_counters[project] += 1
            issue["key"] = f"{project}-{self.project_counters[project]}"
            old_project = issue["fields"]["project"]
            issue["fields"]["project"] = self._project_ref(project)
            issue["fields"]["updated"] = jira_time(moment)
            self._history(issue_id, author, [
                {"field": "Key", "fieldtype": "jira", "from": None, "fromString": old_key, "to": None, "toString": issue["key"]},
                {"field": "project", "fieldtype": "jira", "fieldId": "project", "from": old_project["id"], "fromString": old_project["name"], "to": issue["fields"]["project"]["id"], "toString": issue["fields"]["project"]["name"]},
            ], moment)  # fmt: skip

    def delete_issue(self, issue_id: str) -> None:
        with self.lock:
            self._now()
            del self.issues[issue_id]
            self.histories.pop(issue_id, None)

    def current_issues(self) -> dict[str, dict[str, Any]]:
        """A deep copy of the live issues by id (what a sync should end up with)."""
        with self.lock:
            return json.loads(json.dumps(self.issues))

    # -- JQL ------------------------------------------------------------------------------------

    def _local_datetime(self, text: str) -> datetime:
        for fmt in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
            try:
                naive = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return naive.replace(tzinfo=ZoneInfo(self.time_zone))
        raise JqlError(f"Date value '{text}' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'.")  # fmt: skip

    def search(self, jql: str) -> list[dict[str, Any]]:
        """The issues matching ``jql``, ordered (raises :class:`JqlError` like Jira's 400)."""
        where, order = _split_order(jql)
        predicates = _parse_where(where, self)
        if not predicates:
            raise JqlError("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")  # fmt: skip
        matches = [i for i in self.issues.values() if all(p(i) for p in predicates)]
        for name, descending in reversed(_parse_order(order)):
            matches.sort(key=partial(_sort_value, name=name), reverse=descending)
        return matches

    # -- HTTP -----------------------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(url)
        path = parts.path
        with self.lock:
            self._requests += 1
            label = re.sub(r"/issue/[^/]+/changelog", "/issue/{id}/changelog", path)
            self.calls[label] += 1
            for fault in self.faults:
                if fault.times and path.startswith(fault.path_prefix):
                    fault.times -= 1
                    return fault.status, fault.headers, {"errorMessages": [f"injected HTTP {fault.status}"]}
            if self.rate_limit_every and self._requests % self.rate_limit_every == 0:
                return (
                    429,
                    {"Retry-After": str(self.retry_after_seconds)},
                    {"errorMessages": ["Rate limit exceeded."]},
                )
            if not self._authorized(headers.get("authorization", "")):
                return 401, {}, {"errorMessages": ["Client must be authenticated to access this resource."]}
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                return 400, {}, {"errorMessages": ["Invalid request payload."]}
            try:
                return self._route(method, path, query, payload)
            except JqlError as err:
                return 400, {}, {"errorMessages": [str(err)], "warningMessages": []}

    def _authorized(self, header: str) -> bool:
        if not header.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        return decoded == f"{self.email}:{self.api_token}"

    def _route(
        self, method: str, path: str, query: dict[str, str], payload: dict[str, Any]
    ) -> tuple[int, dict[str, str], Any]:  # noqa: E501
        if path == "/rest/api/3/myself" and method == "GET":
            return 200, {}, {"accountId": "sync-bot", "emailAddress": self.email, "displayName": "Sync bot", "timeZone": self.time_zone, "active": True}  # fmt: skip
        if path == "/rest/api/3/field" and method == "GET":
            return 200, {}, self._fields()
        if path == "/rest/api/3/search":
            return 410, {}, {"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"]}  # fmt: skip
        if path == "/rest/api/3/search/jql" and method in ("GET", "POST"):
            request = payload if method == "POST" else _search_query(query)
            return 200, {}, self._search_page(request)
        match = re.fullmatch(r"/rest/api/3/issue/([^/]+)/changelog", path)
        if match and method == "GET":
            issue = self._find(match.group(1))
            if issue is None:
                return (
                    404,
                    {},
                    {"errorMessages": ["Issue does not exist or you do not have permission to see it."]},
                )
            return 200, {}, self._changelog_page(issue["id"], int(query.get("startAt", 0)), int(query.get("maxResults", 100)))  # fmt: skip
        return 404, {}, {"errorMessages": [f"No resource at {method} {path}"]}

    def _find(self, id_or_key: str) -> dict[str, Any] | None:
        if id_or_key in self.issues:
            return self.issues[id_or_key]
        return next((i for i in self.issues.values() if i["key"] == id_or_key), None)

    def _fields(self) -> list[dict[str, Any]]:
        system = [
            {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": False,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [fid],
                "schema": {"type": kind, "system": fid},
            }  # fmt: skip
            for fid, name, kind in SYSTEM_FIELDS
        ]
        custom = [
            {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{fid.split('_')[1]}]", name],
                "schema": {"type": kind, "custom": custom_type, "customId": int(fid.split("_")[1])},
            }  # fmt: skip
            for fid, name, kind, custom_type in CUSTOM_FIELDS
        ]
        return system + custom

    def _search_page(self, request: dict[str, Any]) -> dict[str, Any]:
        jql = str(request.get("jql") or "")
        matches = self.search(jql)
        size = max(1, min(int(request.get("maxResults") or 50), MAX_PAGE))
        token = request.get("nextPageToken")
        offset = 0
        if token:
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(str(token)))["offset"])
            except (ValueError, KeyError, TypeError):
                raise JqlError("The provided next page token is invalid or expired.") from None
        fields = request.get("fields") or ["id"]
        if isinstance(fields, str):
            fields = fields.split(",")
        expand = request.get("expand") or ""
        if isinstance(expand, list):
            expand = ",".join(expand)
        page = matches[offset : offset + size]
        body: dict[str, Any] = {"issues": [self._render(i, fields, "changelog" in expand) for i in page]}
        if offset + size < len(matches):
            body["nextPageToken"] = base64.urlsafe_b64encode(
                json.dumps({"offset": offset + size}).encode()
            ).decode()
            body["isLast"] = False
        else:
            body["isLast"] = True
        for hook in list(self.after_search_page):
            hook(offset // size + 1)
        return body

    def _render(self, issue: dict[str, Any], fields: list[str], changelog: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"expand": "renderedFields,names,schema,operations,editmeta,changelog", "id": issue["id"], "self": issue["self"], "key": issue["key"]}  # fmt: skip
        wanted = set(fields)
        if "*all" in wanted or "*navigable" in wanted:
            out["fields"] = json.loads(json.dumps(issue["fields"]))
        else:
            selected = {k: v for k, v in issue["fields"].items() if k in wanted}
            if selected:
                out["fields"] = json.loads(json.dumps(selected))
        if changelog:
            histories = self.histories.get(issue["id"], [])
            newest = list(reversed(histories))[:SEARCH_CHANGELOG_LIMIT]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(newest),
                "total": len(histories),
                "histories": newest,
            }
        return out

    def _changelog_page(self, issue_id: str, start: int, size: int) -> dict[str, Any]:
        histories = self.histories.get(issue_id, [])
        size = max(1, min(size, 100))
        values = histories[start : start + size]
        return {"startAt": start, "maxResults": size, "total": len(histories), "isLast": start + size >= len(histories), "values": values}  # fmt: skip


def _search_query(query: dict[str, str]) -> dict[str, Any]:
    request: dict[str, Any] = dict(query)
    if "fields" in query:
        request["fields"] = query["fields"].split(",")
    return request


def _split_order(jql: str) -> tuple[str, str]:
    parts = re.split(r"\bORDER\s+BY\b", jql, maxsplit=1, flags=re.I)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {position}.")
        kind = match.lastgroup or "word"
        value = match.group(kind)
        tokens.append((kind, json.loads(value) if kind == "str" else value))
        position = match.end()
    return tokens


def _parse_where(where: str, state: JiraState) -> list[Callable[[dict[str, Any]], bool]]:
    tokens = _tokens(where)
    predicates: list[Callable[[dict[str, Any]], bool]] = []
    index = 0
    while index < len(tokens):
        if predicates:
            if tokens[index][1].upper() != "AND":
                raise JqlError(f"Error in the JQL Query: expecting 'AND' but got '{tokens[index][1]}'.")
            index += 1
        name = tokens[index][1].lower()
        operator = tokens[index + 1][1].lower()
        index += 2
        if operator == "in":
            if tokens[index][1] != "(":
                raise JqlError("Error in the JQL Query: expecting '(' after 'in'.")
            values = []
            index += 1
            while tokens[index][1] != ")":
                if tokens[index][1] != ",":
                    values.append(str(tokens[index][1]))
                index += 1
            index += 1
            predicates.append(_membership(name, values))
            continue
        value = str(tokens[index][1])
        index += 1
        if name in ("updated", "created"):
            bound = state._local_datetime(value)  # noqa: SLF001 - same module
            predicates.append(_time_compare(name, operator, bound))
        elif operator == "=":
            predicates.append(_membership(name, [value]))
        else:
            raise JqlError(f"Error in the JQL Query: the stand-in does not support '{name} {operator}'.")
    return predicates


def _membership(name: str, values: list[str]) -> Callable[[dict[str, Any]], bool]:
    if name == "project":
        return lambda i: i["fields"]["project"]["key"] in values or i["fields"]["project"]["id"] in values
    if name in ("id", "issue", "key", "issuekey"):
        return lambda i: i["id"] in values or i["key"] in values
    raise JqlError(f"Error in the JQL Query: the stand-in does not support field '{name}'.")


def _time_compare(name: str, operator: str, bound: datetime) -> Callable[[dict[str, Any]], bool]:
    def moment(issue: dict[str, Any]) -> datetime:
        return datetime.strptime(issue["fields"][name], "%Y-%m-%dT%H:%M:%S.%f%z")

    comparisons: dict[str, Callable[[datetime], bool]] = {
        ">=": lambda m: m >= bound, ">": lambda m: m > bound, "<=": lambda m: m <= bound, "<": lambda m: m < bound,
    }  # fmt: skip
    if operator not in comparisons:
        raise JqlError(f"Error in the JQL Query: operator '{operator}' is not supported for '{name}'.")
    check = comparisons[operator]
    return lambda i: check(moment(i))


def _parse_order(order: str) -> list[tuple[str, bool]]:
    result = []
    for part in filter(None, (p.strip() for p in order.split(","))):
        words = part.split()
        result.append((words[0].lower(), len(words) > 1 and words[1].upper() == "DESC"))
    return result


def _sort_value(issue: dict[str, Any], name: str) -> Any:
    if name in ("updated", "created"):
        return datetime.strptime(issue["fields"][name], "%Y-%m-%dT%H:%M:%S.%f%z")
    if name in ("id", "key"):
        return int(issue["id"])
    return str(issue["fields"].get(name))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.server.state.handle(self.command, self.path, headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: JiraState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class JiraStandIn:
    """The stand-in served on ``127.0.0.1:<free port>`` in a background thread; a context manager."""

    def __init__(self, state: JiraState | None = None) -> None:
        self.state = state or JiraState()
        self._server = _Server(self.state)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"
        self.state.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, name="jira-stand-in", daemon=True)

    def start(self) -> JiraStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> JiraStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection(self) -> dict[str, Any]:
        """The Airflow connection (JSON form) a sync needs: site URL, email, API token."""
        return {
            "conn_type": "http",
            "host": self.url,
            "login": self.state.email,
            "password": self.state.api_token,
        }
