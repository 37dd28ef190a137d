"""The agents harness runs from any directory under its installed name, through ``yume-gym agents``."""

import configparser
import sys
from pathlib import Path

import pytest

from yume_gym.commands.cli import JOBS, main

ROOT = Path(__file__).resolve().parents[2]


def test_setup_cfg_installs_agents_as_yume_gym_agents():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert "yume_gym_agents" in setup["options"]["packages"].split()
    assert "yume_gym_agents = agents" in setup["options"]["package_dir"]
    for spec in JOBS["agents"].values():
        module = spec.split(":")[0].removeprefix("yume_gym_agents.")
        assert (ROOT / "agents" / f"{module}.py").is_file(), spec


@pytest.fixture
def installed_agents(tmp_path, monkeypatch):
    """``agents/`` reachable as ``yume_gym_agents`` from a directory outside the repository, as the
    install maps it; the repository root itself is not on the path there."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "yume_gym_agents").symlink_to(ROOT / "agents")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(site))
    for name in [m for m in sys.modules if m == "agents" or m.startswith("agents.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != ROOT])


@pytest.mark.parametrize("job", ["train_ppo", "evaluate", "curves", "side_by_side"])
def test_yume_gym_agents_job_help_runs_from_any_directory(job, installed_agents, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["agents", job, "--help"])
    assert stop.value.code == 0
    assert f"usage: yume-gym agents {job}" in capsys.readouterr().out
