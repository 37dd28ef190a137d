"""The world layer: the world model as tensors, below the Gymnasium env API.

``bundle`` (a generator, codec, text encoder and generation settings loaded together),
``batch`` (a batch of world sessions advanced chunk by chunk), ``released`` (the Yume-5B
directory assembled into a bundle), ``guidance`` (pushes toward parts of the caption) and
``residual_flow``. Nothing here imports gymnasium.
"""
