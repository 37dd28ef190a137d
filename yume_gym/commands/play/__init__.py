"""Play a generated world live: ``yume-gym play`` (a pygame window) and ``yume-gym serve`` (a web page).

Both front ends drive the env through one :class:`~yume_gym.commands.play.controller.PlayController`
(held keys -> action, live events, background generation while the last chunk plays). The
optional libraries (pygame, aiohttp) are imported only by the front end that needs them.
"""
