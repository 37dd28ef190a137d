"""World-server settings are checked before Ray starts; a missing Ray names its install."""

import pytest

from yume_gym.env.remote.pool import require, start_servers
from yume_gym.env.remote.server import ServerOptions


def test_missing_ray_modules_name_the_extra():
    with pytest.raises(ImportError, match=r'ray_not_installed is not installed; .*pip install "yume-gym\[ray\]"'):
        require("ray_not_installed")


def test_bad_server_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="num_servers=0 must be a positive integer"):
        start_servers(0)
    with pytest.raises(TypeError, match=r"unknown server option\(s\) \['gpus'\]"):
        start_servers(1, gpus=1)
    with pytest.raises(ValueError, match="rows=0 must be a positive integer"):
        ServerOptions(rows=0)
    with pytest.raises(ValueError, match="window_s=-1 must be"):
        ServerOptions(window_s=-1)
