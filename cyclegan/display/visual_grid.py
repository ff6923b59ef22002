"""Turn visual tensors into small CPU copies (caller thread) and into a labelled grid (background thread);
tensors become uint8 images through cyclegan.images.to_uint8."""
from PIL import Image, ImageDraw, ImageFont


def snapshot(visuals):
    """First image of each batch as a detached CPU float copy: the only work done in the hot path."""
    out = {}
    for name, t in visuals.items():
        if t is None:
            continue
        img = t[0] if t.dim() == 4 else t
        out[str(name)] = img.detach().to("cpu", dtype=img.dtype, copy=True)
    return out


def labelled_grid(images, ncols=4, cell=256, pad=4, label_h=16):
    """One RGB PIL image holding every (name, HxWx3 uint8) pair with its name underneath.

    Small images are scaled up by a whole factor (nearest) so cells are about `cell` px wide.
    """
    items = list(images.items())
    if not items:
        return Image.new("RGB", (1, 1), "white")
    ncols = len(items) if ncols is None or ncols <= 0 else min(ncols, len(items))
    nrows = (len(items) + ncols - 1) // ncols
    h = max(a.shape[0] for _, a in items)
    w = max(a.shape[1] for _, a in items)
    scale = max(1, int(cell) // max(h, w)) if cell else 1
    ch, cw = h * scale, w * scale
    grid = Image.new("RGB", (ncols * (cw + pad) + pad, nrows * (ch + label_h + pad) + pad), "white")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default()
    for i, (name, arr) in enumerate(items):
        r, c = divmod(i, ncols)
        x, y = pad + c * (cw + pad), pad + r * (ch + label_h + pad)
        img = Image.fromarray(arr)
        if scale > 1:
            img = img.resize((arr.shape[1] * scale, arr.shape[0] * scale), Image.NEAREST)
        grid.paste(img, (x, y))
        draw.text((x + 2, y + ch + 2), name, fill=(0, 0, 0), font=font)
    return grid
