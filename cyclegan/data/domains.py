"""What domains A and B of a dataset are, in words, for page headings ("A = paintings, B = photos").

A dataset may say it itself in DATAROOT/domains.json ({"A": "...", "B": "..."}; the built-in synthetic
dataset writes one); otherwise the official X2Y folder name is read (vangogh2photo: A = Van Gogh
paintings, B = photos); otherwise the folder names trainA/trainB are all we know.
"""
import json
import os
import re

WORDS = {"vangogh": "Van Gogh paintings", "monet": "Monet paintings", "cezanne": "Cézanne paintings",
         "ukiyoe": "Ukiyo-e prints", "photo": "photos", "horse": "horses", "zebra": "zebras", "apple": "apples",
         "orange": "oranges", "summer": "summer photos", "winter": "winter photos", "sat": "satellite images",
         "map": "maps", "label": "label maps", "iphone": "iPhone photos", "dslr": "DSLR photos"}


def domain_names(dataroot):
    """{"A": words, "B": words} for the dataset at `dataroot` (a folder; None gives the plain names)."""
    plain = {"A": "domain A (trainA/testA)", "B": "domain B (trainB/testB)"}
    if not dataroot:
        return plain
    try:
        with open(os.path.join(dataroot, "domains.json"), encoding="utf-8") as f:
            named = json.load(f)
        return {k: str(named.get(k, plain[k])) for k in "AB"}
    except (OSError, ValueError, AttributeError):
        pass
    m = re.match(r"([a-z]+)2([a-z]+)", os.path.basename(os.path.normpath(str(dataroot))).lower())
    if not m:
        return plain
    return {k: WORDS.get(word, word) for k, word in zip("AB", m.groups())}
