"""One local Ray (2 CPUs, no dashboard) for every Ray test, and one shared world server.

Servers reserve no CPU here, so RLlib's env runners can take the two.
"""

import pytest

ray = pytest.importorskip("ray", reason='the Ray tests need the ray extra: pip install "yume-gym[ray]"')

from yume_gym.env.remote.pool import start_servers  # noqa: E402

SERVER = {"num_cpus_per_server": 0, "threads": 1, "timeout_s": 60}


@pytest.fixture(scope="session")
def server_settings():
    """What every test server is started with: no CPU reserved, one torch thread, 60 s timeout."""
    return dict(SERVER)


@pytest.fixture(scope="session")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def pool(ray_session):
    """One server of the embedded model with 12 rows, shared by the tests that do not kill it."""
    servers = start_servers(1, rows=12, name="test-world-server", **SERVER)
    yield servers
    servers.shutdown()
