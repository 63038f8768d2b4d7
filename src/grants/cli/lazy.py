"""A command group that imports a command's module only when that command is wanted: when it
runs, or shows its own help (click's lazily loading subcommands). The group's own help lists
every command with its short help from a table, without importing any of them: a command
such as `grants balance` then never pays for the workbooks, the migrations or the web
service that other commands need."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import click

from grants.cli.group import GrantsGroup


@dataclass(frozen=True)
class Lazy:
    """Where a command is defined, and its short help as the group's help lists it (the
    first sentence of its help; tests/test_startup.py checks it against the command's)."""

    module: str
    attribute: str
    short_help: str

    def load(self) -> click.Command:
        command = getattr(importlib.import_module(self.module), self.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.module}.{self.attribute} is not a click command")
        return command

    def listed(self, name: str) -> click.Command:
        """A stand-in that the group's help lists as it would the command itself."""
        return click.Command(name, help=self.short_help)


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name, as click's ``Group.commands`` holds them: those added to
    the group, and those of the table, each imported the first time it is looked up."""

    def __init__(self, added: Mapping[str, click.Command], table: Mapping[str, Lazy]) -> None:
        self._loaded = dict(added)
        self._table = dict(table)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            self._loaded[name] = self._table[name].load()
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._loaded and name not in self._table:
            raise KeyError(name)
        self._loaded.pop(name, None)
        self._table.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._loaded, *self._table]))

    def __len__(self) -> int:
        return len(self._loaded.keys() | self._table.keys())

    def listed(self, name: str) -> click.Command:
        """The command if it is imported already, else its stand-in from the table."""
        if name in self._loaded:
            return self._loaded[name]
        return self._table[name].listed(name)


class LazyGroup(GrantsGroup):
    """GrantsGroup (its error handling unchanged) whose commands are imported when wanted;
    ``lazy``: the table of them by name."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: LazyCommands = LazyCommands(self.commands, lazy)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            return None
        return self.commands[cmd_name]  # imports its module, the first time

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's list of commands, from the table: no command is imported to list it."""
        listed = [(name, self.commands.listed(name)) for name in self.list_commands(ctx)]
        listed = [(name, command) for name, command in listed if not command.hidden]
        if not listed:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in listed)
        with formatter.section("Commands"):
            formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in listed])
