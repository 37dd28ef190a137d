from yume_gym.commands import cli


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in cli.JOBS:
        assert command in out


def test_unknown_command_and_target_fail_with_hint(capsys):
    assert cli.main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err
    assert cli.main(["bench", "nothing"]) == 2
    assert "expected a target" in capsys.readouterr().err


def test_every_job_resolves_to_a_function():
    for targets in cli.JOBS.values():
        for spec in targets.values():
            assert callable(cli._resolve(spec)), spec
