"""Terraform and the code agree, and the offline checks can fail."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from siyu.devstack.registry import ROOT

from .infra_check import problems


def test_infra_declares_what_the_code_uses() -> None:
    assert problems(ROOT) == []


def test_terraform_files_are_formatted() -> None:
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not installed: it is needed for `terraform fmt -check`"
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", str(ROOT / "infra")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    for part in ("infra", "functions"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def test_a_function_without_terraform_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(main.read_text().replace("ops_api = {", "ops_api_renamed = {"))
    found = problems(broken)
    assert any("ops_api: functions/ops_api has no Terraform function" in p for p in found)


def test_a_wrong_trigger_topic_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(
        main.read_text().replace('trigger_topic = "wecom-events"', 'trigger_topic = "other"')
    )
    assert any("Terraform trigger 'other'" in p for p in problems(broken))


def test_an_unwired_secret_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(main.read_text().replace('SIYU_WECOM_TOKEN   = "wecom-callback-token"', ""))
    assert any("SIYU_WECOM_TOKEN is read by Settings" in p for p in problems(broken))


def test_unformatted_terraform_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(main.read_text().replace("  name = ", "name    =   ", 1))
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(broken / "infra")],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
