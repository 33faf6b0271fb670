"""No change is lost (issue 15): a deploy never silently supersedes a newer version.

* A deploy from files (``zhitongche deploy``, ``zhitongche run``, the designer's "deploy the
  repository files") stores a process only when its files differ from the last version deployed
  *from files*. When they differ and the latest version was made on the web or with the API, the
  deploy is refused, naming that version (``force`` deploys anyway; ``zhitongche export`` writes
  the web version back into processes/ and forms/ so it can be committed).
* A web or API deploy says which version it was based on (``base_version``). When the latest
  version has moved on since, the deploy is refused with what changed in between, and whether
  the edit can be applied on the latest version (it can when the files it changes were not
  changed in between).
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Conflict
from .models import Deployment, ProcessVersion

ORIGINS = ("files", "web", "api")
ORIGIN_LABELS = {"files": "文件", "web": "网页", "api": "API"}
MAX_DIFF_LINES = 400


@dataclass
class Superseded:
    """One process whose deploy would undo a newer version."""

    process_id: str
    kind: str  # "files" (a deploy from files) | "base" (based on an older version)
    base_version: int | None  # the version the deploy started from (last from files, or the given base)
    latest_version: int
    latest_origin: str
    latest_by: str
    changed_since: list[str] = field(default_factory=list)  # files changed from base to latest
    edited: list[str] = field(default_factory=list)  # files this deploy changes from its base
    diff: str = ""  # unified diff from base to latest

    @property
    def can_apply_on_latest(self) -> bool:
        """The edited files were not touched in between: replacing them on the latest keeps both changes."""
        return self.kind == "base" and not set(self.changed_since) & set(self.edited)

    def message(self) -> str:
        who = f"{ORIGIN_LABELS.get(self.latest_origin, self.latest_origin)}，{self.latest_by}"
        if self.kind == "files":
            since = f"自 v{self.base_version} 以来" if self.base_version else ""
            return (
                f"流程 {self.process_id} 的最新版本 v{self.latest_version}（{who}）不是从文件部署的；"
                f"文件{since}有修改，部署会覆盖该版本。请先用 zhitongche export {self.process_id} 导出并合并，"
                f"或用 --force 强制部署 / the latest version v{self.latest_version} of {self.process_id} was "
                f"made on the {self.latest_origin} by {self.latest_by}; deploying the changed files would "
                f"supersede it: export it first or use --force"
            )
        return (
            f"流程 {self.process_id} 已有更新的版本 v{self.latest_version}（{who}），本次修改基于 "
            f"v{self.base_version}，部署会撤销其间的修改：{', '.join(self.changed_since) or '—'} / "
            f"{self.process_id} moved on to v{self.latest_version} since v{self.base_version}; "
            f"this deploy would undo those changes"
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "message": self.message(), "can_apply_on_latest": self.can_apply_on_latest}


class DeployConflict(Conflict):
    """The deploy would supersede a newer version; nothing was stored."""

    code = "superseded"

    def __init__(self, superseded: list[Superseded]):
        self.superseded = superseded
        super().__init__("；".join(s.message() for s in superseded), superseded=[s.as_dict() for s in superseded])


def last_from_files(session: Session, process_id: str) -> ProcessVersion | None:
    """The last version the files were: deployed from files, or a web/API version a deploy
    from files found identical (``adopted``, e.g. after ``zhitongche export``)."""
    found = session.scalars(
        select(ProcessVersion)
        .join(Deployment)
        .where(ProcessVersion.process_id == process_id, Deployment.origin == "files")
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()
    adopted = [
        v
        for d in session.scalars(
            select(Deployment).where(Deployment.origin == "files").order_by(Deployment.id.desc()).limit(500)
        )
        for pid, v in (d.summary or {}).get("adopted", [])
        if pid == process_id
    ]
    if adopted and (found is None or max(adopted) > found.version):
        return version_of(session, process_id, max(adopted))
    return found


def adopt(session: Session, latest: ProcessVersion, deployed_by: str, source: str) -> None:
    """The files now equal a web/API version: later deploys from files start from it."""
    base = last_from_files(session, latest.process_id)
    if base is not None and base.version >= latest.version:
        return
    session.add(
        Deployment(
            deployed_by=deployed_by,
            source=source[:200],
            origin="files",
            summary={"adopted": [[latest.process_id, latest.version]]},
        )
    )


def version_of(session: Session, process_id: str, version: int) -> ProcessVersion | None:
    return session.scalars(
        select(ProcessVersion).where(ProcessVersion.process_id == process_id, ProcessVersion.version == version)
    ).first()


def file_diff(old: dict[str, str], new: dict[str, str], old_label: str, new_label: str) -> tuple[list[str], str]:
    """The names of the files that differ, and a unified diff of them (cut at MAX_DIFF_LINES)."""
    changed = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
    lines: list[str] = []
    for name in changed:
        lines += difflib.unified_diff(
            (old.get(name) or "").splitlines(),
            (new.get(name) or "").splitlines(),
            f"{old_label}/{name}",
            f"{new_label}/{name}",
            n=2,
            lineterm="",
        )
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"… ({len(lines) - MAX_DIFF_LINES} more lines)"]
    return changed, "\n".join(lines)


def check_files_deploy(
    session: Session, process_id: str, latest: ProcessVersion, digest: str, subset: dict[str, str], force: bool
) -> tuple[str, Superseded | None]:
    """For a deploy from files whose content differs from the latest: 'keep' (the files did
    not change since the last deploy from files), 'deploy', or 'refuse' with why."""
    from_files = last_from_files(session, process_id)
    if from_files is not None and from_files.content_hash == digest:
        return "keep", None
    if (
        latest.deployment.origin == "files"
        or force
        or (from_files is not None and from_files.version >= latest.version)
    ):
        return "deploy", None
    changed, text = file_diff(subset, latest.files, "files", f"v{latest.version}")
    return "refuse", Superseded(
        process_id,
        "files",
        from_files.version if from_files else None,
        latest.version,
        latest.deployment.origin,
        latest.deployment.deployed_by,
        changed,
        [],
        text,
    )


def check_base(
    session: Session, process_id: str, latest: ProcessVersion, base: int, subset: dict[str, str]
) -> Superseded | None:
    """A web/API deploy based on ``base``: refused when the latest moved on since."""
    if latest.version == base:
        return None
    based_on = version_of(session, process_id, base)
    base_files = based_on.files if based_on is not None else {}
    changed, text = file_diff(base_files, latest.files, f"v{base}", f"v{latest.version}")
    edited = sorted(n for n in subset if base_files.get(n) != subset[n])
    return Superseded(
        process_id,
        "base",
        base,
        latest.version,
        latest.deployment.origin,
        latest.deployment.deployed_by,
        changed,
        edited,
        text,
    )
