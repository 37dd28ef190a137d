"""Start world servers on a Ray cluster and hand env clients to the least loaded one.

``start_servers(n)`` starts ``n`` named :class:`~yume_gym.env.remote.server.WorldServer`
actors, one per GPU when the cluster has GPUs (each takes ``num_gpus_per_server``), else on
CPUs; the returned :class:`WorldServerPool` goes to envs as ``server=``. It joins the Ray
cluster that ``ray.init()`` made or found, so a laptop and a cluster run the same code.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

from yume_gym.env.remote.server import ServerOptions, ServerStats, WorldServer

RAY_HINT = 'the world servers run on Ray: pip install "yume-gym[ray]"'


def require(module: str) -> Any:
    """Import a module of Ray (``"ray"``, ``"ray.tune"``, ...) or fail with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{module} is not installed; {RAY_HINT}") from err


@dataclass(frozen=True)
class ServerHandle:
    """One world server: its Ray actor handle and its actor name."""

    actor: Any
    """the Ray actor handle"""
    name: str
    """its Ray actor name (``ray list actors`` shows it)"""


@dataclass(frozen=True)
class WorldServerPool:
    """World servers that envs attach to (pass it as ``server=``); picklable, so Ray workers get it."""

    servers: tuple[ServerHandle, ...]
    """the servers, in the order they were started"""
    timeout_s: float = ServerOptions.timeout_s
    """seconds a client waits for any server call before it fails"""

    @classmethod
    def of(cls, server: Any) -> WorldServerPool:
        """``server`` as a pool: a pool as is, or one Ray actor handle of a world server."""
        if isinstance(server, WorldServerPool):
            return server
        ray = require("ray")
        if isinstance(server, ray.actor.ActorHandle):
            return cls((ServerHandle(server, repr(server)),))  # the server's own name comes with attach()
        raise TypeError(f"server must be a WorldServerPool from start_servers() or a world server's Ray actor "
                        f"handle, got {type(server).__name__}")

    def least_loaded(self) -> list[ServerHandle]:
        """The servers that answer, fewest attached rows first."""
        ray = require("ray")
        refs = [s.actor.load.remote() for s in self.servers]
        loads = []
        for server, ref in zip(self.servers, refs):
            try:
                loads.append((ray.get(ref, timeout=self.timeout_s), server))
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                continue  # a dead or restarting server takes no new clients now
        return [server for _, server in sorted(loads, key=lambda pair: pair[0])]

    def stats(self) -> dict[str, ServerStats]:
        """Every server's statistics, by name."""
        ray = require("ray")
        stats = ray.get([s.actor.stats.remote() for s in self.servers], timeout=self.timeout_s)
        return {s.name: st for s, st in zip(self.servers, stats)}

    def reset_stats(self) -> None:
        require("ray").get([s.actor.reset_stats.remote() for s in self.servers], timeout=self.timeout_s)

    def shutdown(self) -> None:
        """Stop every server for good (no restart)."""
        ray = require("ray")
        for server in self.servers:
            ray.kill(server.actor, no_restart=True)


def start_servers(num_servers: int = 1, options: ServerOptions | None = None, **kwargs: Any) -> WorldServerPool:
    """Start ``num_servers`` world servers; returns their pool once every model has loaded.

    ``kwargs`` are :class:`~yume_gym.env.remote.server.ServerOptions` fields (``checkpoint``,
    ``rows``, ``num_gpus_per_server``, ``window_s``, ``max_restarts``, ``timeout_s``, ``name``,
    ...). Calls ``ray.init()`` when Ray is not initialised yet (it joins a running cluster
    when ``RAY_ADDRESS`` is set, else starts a local one).
    """
    if not isinstance(num_servers, int) or num_servers < 1:
        raise ValueError(f"num_servers={num_servers!r} must be a positive integer")
    if options is not None and not isinstance(options, ServerOptions):
        raise TypeError(f"options must be a ServerOptions, got {type(options).__name__}")
    known = {f.name for f in dataclasses.fields(ServerOptions)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"unknown server option(s) {unknown}; known options: {sorted(known)}")
    options = dataclasses.replace(options or ServerOptions(), **kwargs)
    ray = require("ray")
    if not ray.is_initialized():
        ray.init()
    gpus, cluster_gpus = options.num_gpus_per_server, ray.cluster_resources().get("GPU", 0)
    if gpus is None:
        gpus = 1 if cluster_gpus >= 1 else 0
    if gpus * num_servers > cluster_gpus:
        raise ValueError(f"{num_servers} servers of num_gpus_per_server={gpus} need {gpus * num_servers} GPUs; "
                         f"the Ray cluster has {cluster_gpus:g}: start fewer servers or add GPU nodes")
    actor = ray.remote(WorldServer)
    servers = []
    for i in range(num_servers):
        name = f"{options.name}-{i}"
        handle = actor.options(name=name, num_gpus=gpus, num_cpus=options.num_cpus_per_server,
                               max_restarts=options.max_restarts, max_concurrency=1000,
                               ).remote(options, name, "cuda" if gpus else "cpu")
        servers.append(ServerHandle(handle, name))
    try:
        ray.get([s.actor.load.remote() for s in servers], timeout=options.timeout_s)  # the models have loaded
    except ray.exceptions.GetTimeoutError:
        raise TimeoutError(f"world servers {[s.name for s in servers]} did not start within timeout_s="
                           f"{options.timeout_s} s (waiting for free CPUs or GPUs, or a slow model load); "
                           "see `ray status`") from None
    return WorldServerPool(tuple(servers), options.timeout_s)

