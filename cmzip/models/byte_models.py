"""The byte-level learners a level can add to the mix, by name.

Imported lazily: the GRU and QCT pull in the learning toolkit, which the levels without
them never need.
"""


def create(name, config):
    if name == "gru":
        from .gru import GRUPredictor
        return GRUPredictor(config)
    if name == "qct":
        from .qct import QCTPredictor
        return QCTPredictor(config)
    raise ValueError(f"unknown byte model {name!r}")
