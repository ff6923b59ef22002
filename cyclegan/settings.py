"""Typed settings, each default declared once: an owner (the recipe, the display, ...) declares its flags as a
dataclass whose fields carry their help and argparse details; the options layer generates the flags from it
(`add_arguments`) and the library reads a typed object (`Settings.from_opt`) instead of calling
getattr(opt, name, default) with a default of its own.

    @dataclass(frozen=True)
    class RecipeSettings(Settings):
        ema_decay: float = flag(0.0, "averaged generators; 0 = off", type=decay)

    RecipeSettings.add_arguments(parser.add_argument_group("training recipe"))
    RecipeSettings.from_opt(opt).ema_decay     # the parsed value, or the declared default where opt lacks it

A namespace lacks a field where its command does not declare it (the recipe's flags at test time): the declared
default then holds, the same one --help shows.
"""
import argparse
import dataclasses


def flag(default, help, **argparse_kwargs):
    """A settings field: its default, its --help text and what else add_argument takes (type, choices, action)."""
    return dataclasses.field(default=default, metadata={"help": help, **argparse_kwargs})


class Settings:
    """Base of the settings dataclasses (subclasses are @dataclass(frozen=True))."""

    @classmethod
    def add_arguments(cls, parser, only=None, skip=()):
        """Add --NAME for every field (or those named in `only`, less `skip`) to `parser` (an ArgumentParser or an
        argument group)."""
        for f in dataclasses.fields(cls):
            if (only is not None and f.name not in only) or f.name in skip:
                continue
            kwargs = dict(f.metadata)
            if kwargs.get("action") is None and isinstance(f.default, bool) and "type" not in kwargs:
                kwargs["action"] = argparse.BooleanOptionalAction if f.default else "store_true"
            parser.add_argument(f"--{f.name}", default=f.default, **kwargs)
        return parser

    @classmethod
    def from_opt(cls, opt, **overrides):
        """The settings a parsed namespace holds (declared defaults for fields it lacks), then `overrides`."""
        values = vars(opt) if opt is not None else {}
        kwargs = {f.name: values.get(f.name, f.default) for f in dataclasses.fields(cls)}
        return cls(**{**kwargs, **overrides})

    @classmethod
    def names(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
