"""Typed settings (cyclegan/settings.py): a flag's default is declared once, on the settings field, and the parser
--help shows, the parsed namespace and a namespace that lacks the flag (another command's) all read that one."""
import argparse
from types import SimpleNamespace

import pytest

from cyclegan.models.recipe import RecipeSettings


def test_the_generated_flags_carry_the_declared_defaults_and_types():
    parser = RecipeSettings.add_arguments(argparse.ArgumentParser())
    assert {a.dest: a.default for a in parser._actions if a.dest in RecipeSettings.names()} == \
        {n: getattr(RecipeSettings(), n) for n in RecipeSettings.names()}
    opt = parser.parse_args(["--ema_decay", "0.99", "--spectral_norm", "--diffaug", "translation"])
    s = RecipeSettings.from_opt(opt)
    assert (s.ema_decay, s.spectral_norm, s.diffaug, s.r1_every) == (0.99, True, "translation", 16)
    with pytest.raises(SystemExit):
        parser.parse_args(["--ema_decay", "2"])  # the field's own type check


def test_a_namespace_without_the_flags_reads_the_declared_defaults():
    s = RecipeSettings.from_opt(SimpleNamespace(lr=0.1, batch_size=4), lambda_r1=1.0)
    assert s == RecipeSettings(lambda_r1=1.0)
    with pytest.raises(Exception):
        s.ema_decay = 0.5  # frozen: settings are read, not patched
