"""Gain and time of the GRU at a learner level: Calgary files coded with the level's codec (no
container), with a given GRU config and without a GRU.  CPU time (time.thread_time).

    PYTHONPATH=. python3 experiments/gru_gain.py LEVEL FILES CONFIG_JSON...
    (FILES: comma-separated Calgary names, or "text" for the 14 text files;
     CONFIG_JSON: a GRU config, or "none" for the level without it;
     MIXERS=c0,match,... in the environment replaces the level's mixer selectors, LEVELCFG=JSON
     more of its config)
"""
import json
import os
import sys
import time

from cmzip import levels
from cmzip.codec import Codec
from cmzip.corpora import find_corpus

TEXT = "bib book1 book2 news paper1 paper2 paper3 paper4 paper5 paper6 progc progl progp trans"


def run(level, names, cfg):
    base = dict(levels.LEVELS[level])
    models = [] if cfg is None else [("gru", cfg)]
    # the decoder's information budget as the level has it with these learners (a level's own
    # min_bit_cost of 64 costs up to 0.008 bits per byte without them)
    levels.LEVELS[level] = dict(base, byte_models=models, min_bit_cost=levels._min_bit_cost(models))
    total, cpu, own = 0, 0.0, []
    sizes = {}
    try:
        for name in names:
            data = (find_corpus("calgary") / name).read_bytes()
            codec = Codec(level)
            start = time.thread_time()
            size = len(codec.encode_block(data))
            cpu += time.thread_time() - start
            sizes[name] = size
            total += size
            own += codec.learner_metrics()
    finally:
        levels.LEVELS[level] = base
    return total, cpu, sizes, own


if __name__ == "__main__":
    level = int(sys.argv[1])
    if os.environ.get("MIXERS"):
        levels.LEVELS[level] = dict(levels.LEVELS[level], mixers=os.environ["MIXERS"].split(","))
    if os.environ.get("LEVELCFG"):                  # JSON: more of the level's config replaced
        levels.LEVELS[level] = dict(levels.LEVELS[level], **json.loads(os.environ["LEVELCFG"]))
    names = TEXT.split() if sys.argv[2] == "text" else sys.argv[2].split(",")
    n = sum((find_corpus("calgary") / name).stat().st_size for name in names)
    Codec(level).encode_block(b"warm up the compiled code" * 10)
    for arg in sys.argv[3:]:
        cfg = None if arg == "none" else json.loads(arg)
        if cfg is not None:                                  # compile the GRU loop first
            levels.LEVELS[level] = dict(levels.LEVELS[level], byte_models=[("gru", cfg)])
            Codec(level).encode_block(b"warm up" * 10)
        total, cpu, sizes, own = run(level, names, cfg)
        bits = sum(o["bits_per_byte"] * o["bytes"] for o in own) / max(1, sum(o["bytes"] for o in own))
        print(json.dumps({"level": level, "bytes": total, "bpb": round(8 * total / n, 4),
                          "cpu_s": round(cpu, 2), "us_per_byte": round(cpu / n * 1e6, 2),
                          "gru_own_bpb": round(bits, 4), "cfg": cfg, "sizes": sizes}), flush=True)
