"""Sample content for the Jira stand-in: two projects, users, issues with custom fields, and a
round of changes between syncs (edits, a status walk, creations, a move and a deletion)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from data_platform.local.jira_server import JiraState, adf

USERS = (("u-ana", "Ana Ortiz", "ana@example.com"), ("u-ben", "Ben Okafor", "ben@example.com"),
         ("u-chen", "Chen Li", "chen@example.com"))  # fmt: skip
STATUS_WALK = ("In Progress", "In Review", "In Progress", "In Review")


@dataclass(frozen=True)
class ChangeRound:
    """What :func:`change_issues` did: ids by kind of change."""

    edited: tuple[str, ...]
    created: tuple[str, ...]
    moved: tuple[str, ...]
    deleted: tuple[str, ...]

    @property
    def changed_in_scope(self) -> int:
        """Issues a sync after the round must return (deleted ones are not returned)."""
        return len(set(self.edited) | set(self.created) | set(self.moved))


def seed_issues(state: JiraState, count: int = 24) -> list[str]:
    """Projects OPS and WEB, three users, ``count`` issues (one epic parent, sub-tasks, sprints,
    both "Team" custom fields) and one issue with a changelog longer than a search returns."""
    state.add_project("OPS", "Operations", "10000")
    state.add_project("WEB", "Web shop", "10001")
    for user in USERS:
        state.add_user(*user)
    ids = [state.create_issue("OPS", "u-ana", summary="Platform epic", issuetype="Epic", priority="High",
                              description=adf("Everything about the platform.", "Second paragraph."))]  # fmt: skip
    for n in range(1, count):
        project = "OPS" if n % 3 else "WEB"
        values = {
            "summary": f"Issue number {n}",
            "issuetype": ("Story", "Task", "Bug")[n % 3],
            "priority": ("High", "Medium", "Low")[n % 3],
            "assignee": USERS[n % 3][0] if n % 4 else None,
            "labels": [f"l{n % 2}", "backend"] if n % 2 else [],
            "components": ["api"] if n % 5 == 0 else [],
            "fixVersions": ["1.0"] if n % 6 == 0 else [],
            "description": adf(f"Work item {n}.", "Acceptance: it works.") if n % 4 else None,
            "customfield_10016": float(n % 8) if n % 2 else None,
            "customfield_10020": [1, 2] if n % 3 == 1 else None,
            "customfield_10100": ("Payments", "Search")[n % 2] if n % 3 else None,
            "customfield_10101": f"squad-{n % 4}",
            "duedate": (date(2026, 2, 1) + timedelta(days=n)).isoformat() if n % 7 == 0 else None,
        }
        if project == "OPS" and n % 5 == 1:
            values["parent"] = ids[0]
        ids.append(state.create_issue(project, USERS[n % 3][0], **values))
    busy = ids[1]
    for _ in range(6):  # 24 status changes: more than the 20 a search returns
        for status in STATUS_WALK:
            state.edit_issue(busy, "u-ben", status=status)
    return ids


def change_issues(state: JiraState, ids: list[str], offset: int = 0) -> ChangeRound:
    """Between syncs: edit three issues (one to Done), create two, move one, delete one; the
    issues from ``ids[2 + offset]`` on (a later round takes ``offset`` 5 more, other issues)."""
    edited, moved, deleted = ids[2 + offset : 5 + offset], ids[5 + offset], ids[6 + offset]
    state.edit_issue(edited[0], "u-ana", summary=f"Issue number {2 + offset} (renamed)", priority="Highest")
    state.edit_issue(edited[1], "u-chen", status="In Progress", assignee="u-chen")
    state.edit_issue(edited[1], "u-chen", status="Done")
    state.edit_issue(edited[2], "u-ben", labels=["urgent"], customfield_10100="Search", customfield_10016=13.0)
    created = (
        state.create_issue("WEB", "u-ben", summary="New checkout bug", issuetype="Bug", priority="Highest",
                           description=adf("Checkout fails.", "Steps: pay."), customfield_10101="squad-9"),
        state.create_issue("OPS", "u-chen", summary="New ops task", parent=ids[0]),
    )  # fmt: skip
    state.move_issue(moved, "WEB", "u-ana")
    state.delete_issue(deleted)
    return ChangeRound(edited=tuple(edited), created=created, moved=(moved,), deleted=(deleted,))
