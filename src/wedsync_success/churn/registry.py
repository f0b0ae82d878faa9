"""The model registry: one folder per version, an active pointer, promote and rollback.

Layout under the configured folder (``WEDSYNC_CHURN_REGISTRY``, default ``var/models``)::

    v0001/model.txt        the booster in LightGBM's own text format (Booster.save_model)
    v0001/metadata.json    model card, feature spec, calibration, bands, drift reference
    v0001/report.html      the self-contained HTML report
    active.json            {"active": "v0002", "history": ["v0001", "v0002"]}

No pickle anywhere: a model is loadable by any LightGBM and readable by a person. Pointer
and metadata writes go through a temporary file and ``os.replace``, so a reader (the API in
another process) sees either the old or the new file, never half of one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb

from wedsync_success.kit.errors import NotFound, ValidationFailed

MODEL_FILE = "model.txt"
METADATA_FILE = "metadata.json"
REPORT_FILE = "report.html"
ACTIVE_FILE = "active.json"
VERSION_PATTERN = re.compile(r"^v(\d{4,})$")
NO_ACTIVE_MESSAGE = (
    "No churn model is active yet: train one with `wedsync-success churn train` "
    "(or promote a registered version with `wedsync-success churn promote VERSION`)."
)


@dataclass(frozen=True)
class ModelVersion:
    version: str
    path: Path
    metadata: dict[str, Any]


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Registry:
    """Versions of the churn model in a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def versions(self) -> list[str]:
        """Registered versions, oldest first."""
        if not self.root.is_dir():
            return []
        found = [
            p.name
            for p in self.root.iterdir()
            if VERSION_PATTERN.match(p.name) and (p / METADATA_FILE).is_file()
        ]
        return sorted(found, key=lambda v: int(v[1:]))

    def _new_folder(self) -> tuple[str, Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        numbers = [
            int(m.group(1)) for p in self.root.iterdir() if (m := VERSION_PATTERN.match(p.name))
        ]
        n = max(numbers, default=0) + 1
        while True:
            version = f"v{n:04d}"
            try:
                (self.root / version).mkdir()  # atomic: two trainers never share a folder
                return version, self.root / version
            except FileExistsError:
                n += 1

    def register(self, booster: lgb.Booster, metadata: dict[str, Any]) -> ModelVersion:
        """Store a new version (model first, metadata last: metadata marks it complete)."""
        version, folder = self._new_folder()
        metadata = {**metadata, "version": version}
        booster.save_model(str(folder / MODEL_FILE))
        _write_atomic(folder / METADATA_FILE, json.dumps(metadata, indent=1, allow_nan=False))
        return ModelVersion(version=version, path=folder, metadata=metadata)

    def get(self, version: str) -> ModelVersion:
        folder = self.root / version
        if not VERSION_PATTERN.match(version) or not (folder / METADATA_FILE).is_file():
            known = ", ".join(self.versions()) or "none yet"
            raise NotFound(
                f"No churn model version {version!r} (registered: {known}).",
                details=[{"field": "version", "reason": "not registered"}],
            )
        metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        return ModelVersion(version=version, path=folder, metadata=metadata)

    def load_booster(self, version: str) -> lgb.Booster:
        return lgb.Booster(model_file=str(self.get(version).path / MODEL_FILE))

    def write_report(self, version: str, html: str) -> Path:
        path = self.get(version).path / REPORT_FILE
        _write_atomic(path, html)
        return path

    def _pointer(self) -> dict[str, Any]:
        path = self.root / ACTIVE_FILE
        if not path.is_file():
            return {"active": None, "history": []}
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def active(self) -> str | None:
        """The active version, or None."""
        value = self._pointer().get("active")
        return str(value) if value else None

    def require_active(self) -> str:
        version = self.active()
        if version is None:
            raise NotFound(NO_ACTIVE_MESSAGE)
        return version

    def promote(self, version: str) -> None:
        """Make ``version`` active (it must be a supplier model, not a CSV one)."""
        model = self.get(version)
        if model.metadata.get("kind") != "suppliers":
            raise ValidationFailed(
                f"{version} was trained on a CSV file; only supplier models can be active.",
                details=[{"field": "version", "reason": "not a supplier model"}],
            )
        pointer = self._pointer()
        history = [v for v in pointer.get("history", []) if v != version] + [version]
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.root / ACTIVE_FILE, json.dumps({"active": version, "history": history}))

    def rollback(self) -> str:
        """Re-activate the version that was active before the current one."""
        pointer = self._pointer()
        history: list[str] = list(pointer.get("history", []))
        if len(history) < 2:
            raise NotFound(
                "Nothing to roll back to: no model was active before the current one.",
                details=[{"field": "version", "reason": "no previous active version"}],
            )
        history.pop()
        _write_atomic(
            self.root / ACTIVE_FILE, json.dumps({"active": history[-1], "history": history})
        )
        return history[-1]
