"""The YAML files of a knowledge folder, read once: what is checked is what was read, and a folder
whose bytes have not changed since its last load need not be parsed again."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["Snapshot", "take_snapshot"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The ``*.yaml`` files directly inside some folders of a knowledge root, as bytes."""

    folders: frozenset[str]
    # "genes/CYP2D6.yaml" -> its bytes; a folder's files are those directly inside it.
    files: Mapping[str, bytes]
    # sha256 of every path and its bytes: equal fingerprints, equal files.
    fingerprint: str

    def is_dir(self, folder: str) -> bool:
        return folder in self.folders

    def yaml_names(self, folder: str) -> list[str]:
        """The names of the ``*.yaml`` files directly inside ``folder``, sorted."""
        prefix = f"{folder}/" if folder else ""
        return sorted(
            path[len(prefix) :]
            for path in self.files
            if path.startswith(prefix) and "/" not in path[len(prefix) :]
        )

    def read(self, path: str) -> bytes | None:
        """The bytes of the file at ``path`` (relative to the root); None when it is not a file."""
        return self.files.get(path)


def take_snapshot(root: Traversable | Path, folders: Iterable[str]) -> Snapshot:
    """Read the ``*.yaml`` files directly inside each of ``folders`` ("" is ``root`` itself).

    Only those folders: a knowledge root a site points at may sit beside anything (a .git folder,
    a backup), and nothing else is the loader's business.
    """
    present: set[str] = set()
    files: dict[str, bytes] = {}
    for folder in folders:
        directory = root.joinpath(folder) if folder else root
        if not directory.is_dir():
            continue
        present.add(folder)
        for entry in directory.iterdir():
            if entry.name.endswith(".yaml") and entry.is_file():
                files[f"{folder}/{entry.name}" if folder else entry.name] = entry.read_bytes()
    digest = hashlib.sha256()
    for path in sorted(files):
        content = files[path]
        digest.update(f"{path}\0{len(content)}\0".encode())
        digest.update(content)
    return Snapshot(frozenset(present), files, digest.hexdigest())
