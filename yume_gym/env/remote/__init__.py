"""World servers on Ray: many envs' rows batched on one model per device.

``pool = start_servers(n, ...)`` starts the servers (:mod:`.pool`, :mod:`.server`); envs made
with ``server=pool`` step there (:mod:`.client`); :func:`.rllib.register_rllib_env` lets RLlib's
env runners build them. Ray is the ``ray`` extra, imported only when a server is used.
"""
