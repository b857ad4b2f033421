"""The chat's user interface: ``session`` (one question loop, for the terminal and a pipe),
``commands`` (the slash commands, called with the session) and ``repl`` (the terminal).

Imports point one way: repl → session → commands.
"""
