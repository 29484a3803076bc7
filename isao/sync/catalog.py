"""Where recipes come from: the ones shipped in ``isao/recipes/``, then the operator's own directory
(``ISAO_RECIPES_DIR``), whose files override shipped ones of the same name."""

from __future__ import annotations

from pathlib import Path

from isao.sync.recipe import Recipe, RecipeError, load

SHIPPED = Path(__file__).parent.parent / "recipes"


def files(extra: Path | None = None) -> dict[str, Path]:
    """recipe name (the file's stem) → path, later directories winning."""
    found: dict[str, Path] = {}
    for directory in (SHIPPED, extra):
        if directory is not None and directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found[path.stem] = path
    return found


def get(name: str, extra: Path | None = None) -> Recipe:
    """The recipe called ``name``; ``KeyError`` lists the known ones, ``RecipeError`` explains a bad file."""
    known = files(extra)
    if name not in known:
        raise KeyError(f"no recipe {name!r} (known: {', '.join(sorted(known)) or 'none'})")
    recipe = load(known[name])
    if recipe.name != name:
        raise RecipeError(f"{known[name]}: the file is named {name!r} but the recipe is {recipe.name!r}")
    return recipe
