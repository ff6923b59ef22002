"""--recipe for training: the named recipe's flags at the crop size (cyclegan.models.recipe.recipe_defaults)
become the parser's defaults, so typed flags still win;
on --continue_train the run's saved values (train_opt.json) of every flag a recipe may set come back unless
typed, so a resumed run keeps its recipe and the overrides it was started with."""
import os

from cyclegan.models.recipe import RECIPE_KEYS, RECIPES, recipe_defaults
from cyclegan.runs.layout import RunFolder

from .base_options import explicit_flags, without_help


def apply_recipe(parser, argv):
    """Set the defaults of `parser` (a built training parser) from --recipe or, on resume, the saved run."""
    known, _ = parser.parse_known_args(without_help(argv))
    if getattr(known, "recipe", None) is None:  # a model without recipes
        return parser
    typed = explicit_flags(parser, argv)
    saved = RunFolder(os.path.join(known.checkpoints_dir, known.name)).options() if known.continue_train else None
    if saved and "recipe" not in typed and "recipe" in saved:
        name = saved["recipe"]
        restored = {k: saved[k] for k in RECIPE_KEYS if k in saved and k not in typed}
        own = recipe_defaults(name, saved.get("crop_size", known.crop_size)) if name in RECIPES else {}
        parser.set_defaults(**{"recipe": name, **own, **restored})
        return parser
    parser.set_defaults(**recipe_defaults(known.recipe, known.crop_size))
    return parser
