"""The image playbook, run through the project's ansible-runner wrapper."""

from __future__ import annotations

from pathlib import Path

from sparksweep.runner import run_playbook


def test_image_playbook_second_run_changes_nothing(tmp_path: Path) -> None:
    first = run_playbook("playbooks/image.yml", private_data_dir=tmp_path / "first")
    assert first.ok, first.failures
    second = run_playbook("playbooks/image.yml", private_data_dir=tmp_path / "second")
    assert second.ok, second.failures
    assert second.changed_count() == 0, second.stats["changed"]
    assert second.stats["ok"].get("localhost", 0) > 0
