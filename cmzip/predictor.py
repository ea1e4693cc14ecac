"""The predictor: everything between "the bits coded so far" and "P(next bit = 1)".

Reads top to bottom like lpaq's.  Per bit:

1. contexts: each of the level's hashed contexts names a bit-history state in its slot of the
   bucket table (a new slot at each nibble boundary); a StateMap turns the state into a
   probability, stretched into a mixer input;
2. match models: the bit the longest recent match expects, with a learned confidence (a StateMap
   input) and a direct input that grows with the match length; at levels 5-9 a second one that
   only follows repeats of 16 bytes or more (models/match.py);
3. bit-image model (levels 4-9; models/image.py): where the data are rows of 1-bit pixels, the
   bit as a pixel predicted from the pixels around it, one input per template;
4. byte learners (GRU, QCT; levels 6-9): their P(bit | the bits of this byte so far), given from
   outside the compiled code once per byte (`ext`);
5. mixers: K first-layer mixers over all inputs, each with weight sets chosen by its own small
   context (selector), then final mixers over their outputs (weight sets by the partial byte,
   and at levels 3-9 by the last byte, at 6-9 also by the byte before and order_match), their
   outputs averaged as stretches;
6. APMs refine the result under small contexts; the mixer's own estimate keeps a quarter.

After the bit is known every part learns from it (update_bit); after the byte, the history,
the match model, the context hashes and the image model's rows move on (update_byte).

All state is a NamedTuple of numpy arrays (`Model`), made in Python by new_model() where the
sizes and initial values can be read; the compiled functions below only index it.
"""
from typing import NamedTuple

import numpy as np

from .exact import SMAX, SQUASH, STRETCH
from .hashtable import find_slot, new_table, prefetch_line
from .jit import count, inline
from .mixer import (MAX_APM_RATE, apm_predict, apm_prefetch, apm_update, check_mixer, dot,
                    new_apm, new_weights, padded, train)
from .models import history as hist_mod
from .models import image as image_mod
from .models import match as match_mod
from .models.contexts import (CONTEXT_IDS, USES_FOLLOWERS, USES_LONG_FOLLOWERS, USES_RECORDS,
                              context_hash, hash32)
from .models.history import C4, LINE, POS, SHAPE, WORD, word_start
from .statemap import STEP, new_statemap, sm_p16, sm_update, state_tables

BIAS = 256                      # a constant input lets every mixer learn an offset
# A first-layer mixer whose prediction was within 1/64 of the bit learns nothing from it: the
# step would be tiny, and skipping it saves time (measured at level 4, codec only: Calgary /
# Canterbury 1.7039 / 0.9967 -> 1.7036 / 0.9967 (1024) or 1.7038 / 0.9977 (2048); Calgary 649 ->
# 668 KB/s, book1 619 -> 620 KB/s with 1024, 632 with 2048).
TRAIN_MIN_ERROR = 1024
# The linear inputs' scale: (p16 - 1/2) >> 6 lies within +-512, below the stretches' reach
# (+-3071) for the probabilities that matter; >> 4 made them dominate the mixers' steps (level 9
# without its GRU, Calgary 1.5957 -> 1.6382), >> 6 / 7 / 8 1.5947 / 1.5945 / 1.5951 and the real
# files 1.0234 -> 1.0194 / 1.0212 / 1.0224.
LINEAR_SHIFT = 6
SM_LIMIT = 1023                 # StateMap counts stop here: entries keep adapting
# A first-layer weight set learns faster while it is new: its rate is mixer_lr * (1 + rate_boost
# * rate_half / (n + rate_half)) after n steps of training, n counted in steps of 2^RATE_SHIFT up
# to 2^RATE_SHIFT * RATE_STEPS - 1 (so that the rate is a table look-up, not a division per bit).
RATE_SHIFT = 4
RATE_STEPS = 1024

# first-layer weight-set selectors: name -> (id, number of sets)
SELECTORS = {"c0": (0, 256), "c1": (1, 256), "match": (2, 16 * 8), "order": (3, 16 * 8),
             "c2bits": (4, 256), "byte": (5, 12 * 8), "insn": (6, 4 * 64),
             "order_match": (7, 16 * 3 * 8), "c2": (8, 256), "c0c1hi": (9, 256 * 8),
             "column": (10, 64 * 8), "image": (11, 33 * 8), "shape": (12, 512 * 8),
             # (model version 19, level 9) larger contexts, hashed where they exceed 2^16 sets:
             # a set is chosen rarely, and learns fast while it is new (_set_rates)
             "c1c0": (13, 1 << 16), "c2c1": (14, 1 << 16), "c3c2c1": (15, 1 << 16),
             "wordc0": (16, 1 << 16)}
# APM contexts: name -> (id, number of rows)
APMS = {"c0": (0, 256), "c1": (1, 1 << 16), "c2": (2, 1 << 16), "c3": (3, 1 << 16)}

# Model.b: per-byte and per-bit scalars
B_C1, B_C2BITS, B_INSN, B_KNOWN, B_MATCH_BUCKET, B_COLUMN, B_STARTED = range(7)


class Config(NamedTuple):
    # The model's shape can be part of its numba type: with unrolled=True (new_model) the counts
    # of contexts, first-layer mixers and APMs are the lengths of tuples (of zeros), and the
    # switches are () for off and (0,) for on, so the loop compiles with them as constants:
    # loops over contexts and mixers unrolled, branches gone (measured on book1, codec only:
    # level 1 1653 -> 1898 KB/s, level 4 624 -> 671, level 5 415 -> 435).  The price: each such
    # shape compiles on its first use on a machine (about 12 s: jit.py).  With
    # unrolled=False they are ints, read at run time: one compiled loop serves every shape.
    # The two give the same bits (tests/test_levels.py); jit.count reads a count either way.
    ctx_count: tuple            # (or int)
    mixer_count: tuple
    final_count: tuple          # final mixers (averaged in the stretch domain)
    apm_count: tuple
    use_match: tuple            # the match model's two inputs
    use_long_match: tuple       # the long-repeat match model's two inputs (only with use_match)
    image_count: tuple          # the bit-image model's contexts, one input each (models/image.py)
    deterministic_inputs: tuple  # a second input per context: its stretch where only one bit
                                 # value has been seen in it, else 0
    linear_inputs: tuple        # a third input per context: its probability - 1/2, linear
                                # (LINEAR_SHIFT), 0 in a new context
    linear_at: int              # where those start in x
    contexts: np.ndarray        # int64 context ids (models/contexts.py)
    selectors: np.ndarray       # int64 selector ids of the first-layer mixers
    set_offset: np.ndarray      # int64: where each first-layer mixer's weight sets start
    mixer_scale: np.ndarray     # int64: each first-layer mixer's rate, in quarters of the set's
    finals: np.ndarray          # int64 selector ids of the final mixers
    final_offset: np.ndarray    # int64: where each final mixer's weight sets start
    apms: np.ndarray            # int64 APM context ids
    apm_offset: np.ndarray      # int64: where each APM's rows start
    detect_records: tuple       # the History looks for fixed-length records (record contexts,
                                # the bit-image model's rows)
    track_followers: tuple      # the History keeps each context's followers (indirect contexts)
    track_long_followers: tuple  # ... and those of the last three and four bytes (ind3, ind4)
    match_at: int               # where the match models' inputs start in x (two each)
    image_at: int               # where the bit-image model's inputs start in x
    ext_at: int                 # where the byte learners' inputs start in x
    n_ext: int                  # inputs from byte learners
    final_rate: int
    apm_rate: int
    apm_first: int              # 0: APM nodes learn at 2^-apm_rate; else at 1/(n + apm_first)
                                # after n steps while that is faster (mixer.apm_update)


class Model(NamedTuple):
    cfg: Config
    hist: hist_mod.History
    match: match_mod.Match
    long_match: match_mod.Match
    image: image_mod.Image
    table: np.ndarray           # uint8 bucket table (hashtable.py)
    slot_mask: int
    next_state: np.ndarray      # int64 (512,): next[2 * state + bit]
    priority: np.ndarray        # int64 (256,): a state's total count
    one_sided: np.ndarray       # int64 (256,): 1 where a state has seen only one bit value
    ctx_hash: np.ndarray        # int64 (n_ctx,): each context's hash for this byte
    ctx_slot: np.ndarray        # int64 (n_ctx,): its slot for this nibble
    ctx_next: np.ndarray        # int64 (n_ctx, 2): its hash for the second nibble, by the
                                # fourth bit (computed at the third, for the prefetch)
    ctx_at: np.ndarray          # int64 (n_ctx,): the table byte holding this bit's state
    sm: np.ndarray              # uint32 StateMap: 256 entries per context, then the match
                                # models' (MAP_SIZE each)
    sm_at: np.ndarray           # int64 (n_maps,): the entries that predicted this bit
    step: np.ndarray            # int64 StateMap steps by count
    ext: np.ndarray             # int64 (n_ext, 256): byte learners' stretched P(1) by c0
    x: np.ndarray               # int32 (n_inputs padded,): first-layer inputs, bias, zeros
    w: np.ndarray               # int32 (sets, n_inputs): first-layer weights (mixer.py)
    trained: np.ndarray         # uint16 (sets,): how often each weight set has been trained
                                # (up to 2^RATE_SHIFT * RATE_STEPS - 1 < 2^16)
    set_rate: np.ndarray        # int64 (RATE_STEPS,): a weight set's rate by trained >> RATE_SHIFT
    rows: np.ndarray            # int64 (K,): the weight set each first-layer mixer uses
    p1: np.ndarray              # int64 (K,): their p16
    x2: np.ndarray              # int32 (K + 1 padded,): their stretched outputs, bias, zeros
    w2: np.ndarray              # int32 (sets, len(x2)): the final mixers' weights
    final_rows: np.ndarray      # int64 (n_final,): the weight set each final mixer uses
    final_p: np.ndarray         # int64 (n_final,): their p16
    apm: np.ndarray             # int32 APM nodes (22-bit probabilities)
    apm_node: np.ndarray        # int64 (n_apms,): the node each APM trains
    b: np.ndarray               # int64 scalars (B_...)
    stretch: np.ndarray         # int16 (65536,): p16 -> stretch (|stretch| <= SMAX < 2^15: the
                                # 128 KB table stays in the L2 cache; int64 took 512 KB)
    squash: np.ndarray          # int32 (2 * SMAX + 1,): stretch + SMAX -> p16


def _switch(on, unrolled):
    """A Config switch: unrolled, part of the numba type (so that the loop compiles without the
    branches it never takes), else 0 or 1."""
    if not unrolled:
        return int(on)
    return (0,) if on else ()


def _count(n, unrolled):
    """A Config count: unrolled, the length of a tuple (part of the numba type), else an int."""
    return (0,) * n if unrolled else n


def _bits_for(count, low, high):
    """log2 of a power-of-two table size: at least `count` entries, within [low, high]."""
    return int(min(high, max(low, (max(count, 1) - 1).bit_length())))


def _set_rates(config):
    """A first-layer weight set's rate by how often it has been trained (in steps of 2^RATE_SHIFT):
    it starts (1 + rate_boost) times mixer_lr, and the extra part halves once the set has been
    trained rate_half times (weights start far from where they settle; a set chosen rarely keeps
    learning fast for longer)."""
    rate, boost, half = config["mixer_lr"], config["rate_boost"], config["rate_half"]
    n = np.arange(RATE_STEPS, dtype=np.int64) << RATE_SHIFT
    return rate + (rate * boost * half) // (n + half)


def weight_bytes(config, n_ext):
    """The bytes the first-layer mixers' weights take (int32, every set of every mixer): up to
    about 200 MiB at level 9, whose four largest selectors have 2^16 sets each."""
    n_ctx = len(config["contexts"])
    n_inputs = (n_ctx * (1 + bool(config.get("deterministic_inputs"))
                         + bool(config.get("linear_inputs")))
                + 2 * bool(config["match"]) + 2 * bool(config.get("long_match_min"))
                + config.get("image", 0) + n_ext + 1)
    sets = sum(SELECTORS[s][1] for s in config["mixers"])
    return sets * padded(n_inputs) * 4 + sets * 2      # (and the uint16 training counts)


def new_model(config, first_block_len, n_ext=0, unrolled=True):
    """Fresh models for a stream whose first block (the whole input, if shorter than a block)
    has first_block_len bytes: tables no bigger than that data can fill.  unrolled: whether the
    model's counts are constants of its compiled loop (Config)."""
    n = first_block_len
    contexts = np.array([CONTEXT_IDS[c] for c in config["contexts"]], dtype=np.int64)
    n_ctx = len(contexts)
    selectors = [SELECTORS[s] for s in config["mixers"]]
    apms = [APMS[a] for a in config["apms"]]
    k = len(selectors)
    finals = [SELECTORS[s] for s in config["final_mixers"]]
    use_match = bool(config["match"])
    deterministic = bool(config.get("deterministic_inputs", False))
    linear = bool(config.get("linear_inputs", False))
    linear_at = n_ctx * (2 if deterministic else 1)
    match_at = linear_at + (n_ctx if linear else 0)
    n_image = config.get("image", 0)
    use_long = use_match and bool(config.get("long_match_min", 0))
    image_at = match_at + (2 if use_match else 0) + (2 if use_long else 0)
    ext_at = image_at + n_image
    n_inputs = ext_at + n_ext + 1
    set_rate = _set_rates(config)
    scales = config.get("mixer_scale", [4] * k)
    if len(scales) != k or min(scales) < 1:
        raise ValueError("mixer_scale: a rate of at least 1/4 for each first-layer mixer")
    if config.get("apm_first", 0) < 0 or not 1 <= config["apm_rate"] <= MAX_APM_RATE:
        raise ValueError(f"APM rates are 2^-1 to 2^-{MAX_APM_RATE}")
    check_mixer(padded(n_inputs), [int(set_rate.max()) * max(scales) // 4])  # the first layer
    check_mixer(padded(k + 1), [config["final_lr"]])                 # the final mixers
    cfg = Config(ctx_count=_count(n_ctx, unrolled), mixer_count=_count(k, unrolled),
                 final_count=_count(len(finals), unrolled),
                 apm_count=_count(len(apms), unrolled), use_match=_switch(use_match, unrolled),
                 use_long_match=_switch(use_long, unrolled),
                 image_count=_count(n_image, unrolled),
                 deterministic_inputs=_switch(deterministic, unrolled),
                 linear_inputs=_switch(linear, unrolled), linear_at=linear_at,
                 contexts=contexts,
                 selectors=np.array([s[0] for s in selectors], dtype=np.int64),
                 set_offset=np.cumsum([0] + [s[1] for s in selectors])[:-1].astype(np.int64),
                 mixer_scale=np.array(scales, dtype=np.int64),
                 finals=np.array([s[0] for s in finals], dtype=np.int64),
                 final_offset=np.cumsum([0] + [s[1] for s in finals])[:-1].astype(np.int64),
                 apms=np.array([a[0] for a in apms], dtype=np.int64),
                 apm_offset=np.cumsum([0] + [a[1] for a in apms])[:-1].astype(np.int64),
                 detect_records=_switch(n_image > 0 or any(c in USES_RECORDS
                                                           for c in config["contexts"]), unrolled),
                 track_followers=_switch(any(c in USES_FOLLOWERS for c in config["contexts"]),
                                         unrolled),
                 track_long_followers=_switch(
                     any(c in USES_LONG_FOLLOWERS for c in config["contexts"]), unrolled),
                 match_at=match_at, image_at=image_at, ext_at=ext_at,
                 n_ext=n_ext, final_rate=config["final_lr"],
                 apm_rate=config["apm_rate"], apm_first=config.get("apm_first", 0))
    # each byte touches two slots per context: a table of about that many slots, up to the
    # level's limit
    slot_bits = _bits_for(2 * n * max(n_ctx, 1), 12, config["slot_bits"])
    last_bit_until = config.get("last_bit_until", 0)
    nxt, total, one_sided = state_tables(last_bit_until)
    sm = np.concatenate([new_statemap(n_ctx, True, last_bit_until),
                         new_statemap(2 * match_mod.N_BUCKETS, False),
                         new_statemap(2 * match_mod.N_BUCKETS, False)])
    x = np.zeros(padded(n_inputs), dtype=np.int32)       # zeros after the bias: mixer.py
    x[n_inputs - 1] = BIAS
    x2 = np.zeros(padded(k + 1), dtype=np.int32)
    x2[k] = BIAS
    return Model(
        cfg=cfg,
        hist=hist_mod.new_history(_bits_for(2 * n, 16, config["history_bits"])),
        match=match_mod.new_match(_bits_for(2 * n, 12, config["match_bits"]), config["match_min"]),
        # a slot for every fourth position of the first block, up to the level's limit (as
        # measured: levels.py); 16 where it is off (the compiled loop's types stay the same)
        long_match=match_mod.new_match(
            _bits_for(n // 4, 12, config["long_match_bits"]) if use_long else 4,
            config.get("long_match_min", 16)),
        # the wide image contexts: an entry for every bit of the first block, up to the limit
        image=image_mod.new_image(n_image, _bits_for(8 * n, image_mod.CONTEXT_BITS,
                                                     image_mod.WIDE_BITS)),
        table=new_table(slot_bits), slot_mask=(1 << slot_bits) - 1,
        next_state=nxt, priority=total, one_sided=one_sided,
        ctx_hash=np.zeros(n_ctx, dtype=np.int64), ctx_slot=np.zeros(n_ctx, dtype=np.int64),
        ctx_next=np.zeros((n_ctx, 2), dtype=np.int64),
        ctx_at=np.zeros(n_ctx, dtype=np.int64),
        sm=sm, sm_at=np.zeros(n_ctx + 2, dtype=np.int64), step=STEP.copy(),
        ext=np.zeros((max(n_ext, 1), 256), dtype=np.int64),
        x=x, w=new_weights(sum(s[1] for s in selectors), x.shape[0], config["init_weight"]),
        trained=np.zeros(sum(s[1] for s in selectors), dtype=np.uint16),
        set_rate=set_rate,
        rows=np.zeros(k, dtype=np.int64), p1=np.zeros(k, dtype=np.int64), x2=x2,
        w2=new_weights(sum(s[1] for s in finals), x2.shape[0], 1.0 / k),
        final_rows=np.zeros(len(finals), dtype=np.int64),
        final_p=np.zeros(len(finals), dtype=np.int64),
        apm=new_apm(sum(a[1] for a in apms)), apm_node=np.zeros(len(apms), dtype=np.int64),
        b=np.zeros(7, dtype=np.int64), stretch=STRETCH.astype(np.int16),
        squash=SQUASH.astype(np.int32))


@inline
def predict_bit(m, c0, bitpos):
    """P(next bit = 1) as p16 in [1, 65535]; c0 is 1 followed by the bits of this byte so far."""
    cfg = m.cfg
    n_ctx = count(cfg.ctx_count)
    # the APMs' rows for this bit are known already, their nodes only after the mixers: the
    # rows are asked for now, so that they arrive meanwhile
    for i in range(count(cfg.apm_count)):
        apm_prefetch(m.apm, cfg.apm_offset[i] + _apm_context(m, cfg.apms[i], c0))
    if cfg.use_match and bitpos == 7:
        match_mod.prefetch_next(m.match, m.hist, c0)
    # 1. contexts: a new slot at each nibble boundary, then the state of this partial nibble
    if bitpos == 0 or bitpos == 4:
        for i in range(n_ctx):
            h = m.ctx_hash[i] if bitpos == 0 else m.ctx_next[i, c0 & 1]
            m.ctx_slot[i] = find_slot(m.table, h, m.slot_mask, m.priority)
    elif bitpos == 3:
        # the second nibble's slots are one of two cache lines per context: both are asked
        # for now, so that they arrive while this bit is coded (start_byte does the same for
        # the first nibble's).  The table's cache misses were a fifth of level 4's time on
        # book1 (perf, on an Intel Xeon); with these prefetches (and the APMs' and the match
        # model's, above) level 4 coded book1 at 482 against 416 KB/s (codec only, medians of
        # 5 alternating processes; the same bits).  The two hashes are kept for the next bit
        # (about 4% more, measured the same way).
        for i in range(n_ctx):
            for bit in range(2):
                h = _nibble_hash(m.ctx_hash[i], (c0 << 1) | bit)
                m.ctx_next[i, bit] = h
                prefetch_line(m.table, h, m.slot_mask)
    if bitpos < 4:
        nibble = c0
    else:
        nibble = (c0 & ((1 << (bitpos - 4)) - 1)) | (1 << (bitpos - 4))
    known = 0
    for i in range(n_ctx):
        at = m.ctx_slot[i] + nibble
        m.ctx_at[i] = at
        state = np.int64(m.table[at])
        if state != 0:
            known += 1
        m.sm_at[i] = i * 256 + state
        p = sm_p16(m.sm, i * 256 + state)
        m.x[i] = m.stretch[p]
        if cfg.deterministic_inputs:
            m.x[n_ctx + i] = m.x[i] if m.one_sided[state] else 0
        if cfg.linear_inputs:
            m.x[cfg.linear_at + i] = (p - 32768) >> LINEAR_SHIFT if state != 0 else 0
    m.b[B_KNOWN] = known
    j = cfg.match_at
    # 2. match models
    bucket = 0
    if cfg.use_match:
        bucket = _match_inputs(m, m.match, n_ctx, n_ctx * 256, j, c0, bitpos)
        j += 2
    if cfg.use_long_match:
        _match_inputs(m, m.long_match, n_ctx + 1, n_ctx * 256 + match_mod.MAP_SIZE, j, c0, bitpos)
        j += 2
    m.b[B_MATCH_BUCKET] = bucket
    # 3. bit-image model
    n_image = count(cfg.image_count)
    if n_image > 0 and image_mod.active(m.image):     # (else its inputs are 0: start_byte)
        image_mod.contexts(m.image, m.hist, c0, bitpos, n_image)
        for i in range(n_image):
            m.x[j + i] = m.stretch[image_mod.p16(m.image, i)]
    j += n_image
    # 4. byte learners
    for e in range(cfg.n_ext):
        m.x[j + e] = m.ext[e, c0]
    n_inputs = m.x.shape[0]
    # 5. mixers
    k = count(cfg.mixer_count)
    for i in range(k):
        row = cfg.set_offset[i] + _selector(m, cfg.selectors[i], c0, bitpos)
        m.rows[i] = row
        s = dot(m.w, row, m.x, n_inputs)
        m.x2[i] = s
        m.p1[i] = m.squash[s + SMAX]
    if k > 1:
        # the final mixers, each with weight sets by its own selector, averaged as stretches
        n_final = count(cfg.final_count)
        total = 0
        for f in range(n_final):
            row = cfg.final_offset[f] + _selector(m, cfg.finals[f], c0, bitpos)
            m.final_rows[f] = row
            s = dot(m.w2, row, m.x2, m.x2.shape[0])
            m.final_p[f] = m.squash[s + SMAX]
            total += s
        s = total // n_final
        p = m.squash[s + SMAX]
    else:
        s = m.x2[0]
        p = m.p1[0]
    # 6. APMs
    n_apms = count(cfg.apm_count)
    if n_apms == 0:
        return p
    # the final probability is a quarter the mixer's, three quarters the APMs' (in the
    # probability domain, as lpaq's; measured at level 4 with model version 8's contexts, codec
    # only, Calgary / Canterbury / the C headers and libpython: an even mix of stretches 1.6934 /
    # 0.9926 / 1.1502, this 1.6927 / 0.9922 / 1.1488; level 5 1.6791 / 0.9797 / 1.0935 ->
    # 1.6778 / 0.9790 / 1.0922)
    total = n_apms * p
    for i in range(n_apms):
        refined, node = apm_predict(m.apm, cfg.apm_offset[i] + _apm_context(m, cfg.apms[i], c0), s)
        m.apm_node[i] = node
        total += 3 * refined
    return total // (4 * n_apms)     # within [1, 65535]: an average of values within it


@inline
def _nibble_hash(byte_hash, c0):
    """A context's hash for the second nibble of a byte, whose first nibble is in c0."""
    return hash32(byte_hash, c0, 77)


@inline
def _match_inputs(m, match, slot, map_at, j, c0, bitpos):
    """A match model's inputs: x[j], its StateMap's stretch (entries from map_at, by confidence
    bucket, expected bit and partial byte; the entry goes to sm_at[slot]), and x[j + 1], direct,
    growing with the match length.  Returns its bucket (0: no prediction for this bit)."""
    bucket, expected = match_mod.expected_bit(match, c0, bitpos)
    at = map_at + (2 * bucket + expected) * 256 + c0
    m.sm_at[slot] = at
    m.x[j] = m.stretch[sm_p16(m.sm, at)]
    m.x[j + 1] = (2 * expected - 1) * match.s[match_mod.STRENGTH] if bucket > 0 else 0
    return bucket


@inline
def _selector(m, sid, c0, bitpos):
    """The weight set (within its mixer) that selector `sid` picks for this bit."""
    if sid == 0:                # the bits of this byte so far
        return c0
    if sid == 1:                # the previous byte
        return m.b[B_C1]
    if sid == 2:                # the match's confidence bucket, and the bit position
        return m.b[B_MATCH_BUCKET] * 8 + bitpos
    if sid == 3:                # how many contexts have been seen before
        return min(m.b[B_KNOWN], 15) * 8 + bitpos
    if sid == 4:                # the high nibbles of the previous two bytes
        return m.b[B_C2BITS]
    if sid == 5:                # how sure the first byte learner is, and the bit position
        if m.cfg.n_ext == 0:
            return bitpos
        return min(abs(m.x[m.cfg.ext_at]) >> 8, 11) * 8 + bitpos
    if sid == 7:                # how many contexts were seen before, whether a match predicts
        bucket = m.b[B_MATCH_BUCKET]                # this bit (short or long), bit position
        match_class = 0 if bucket == 0 else (1 if bucket < 12 else 2)
        return (min(m.b[B_KNOWN], 15) * 3 + match_class) * 8 + bitpos
    if sid == 8:                # the byte before the previous one
        return (m.hist.s[C4] >> 8) & 255
    if sid == 9:                # the bits of this byte so far and the previous byte's top 3 bits
        return c0 | ((m.b[B_C1] >> 5) << 8)
    if sid == 10:               # the column in the line (text), and the bit position
        return m.b[B_COLUMN] * 8 + bitpos
    if sid == 11:               # the nearest pixels of a bit image, and the bit position
        return m.image.s[image_mod.NEIGHBOURS] * 8 + bitpos
    if sid == 12:               # the classes of the last three runs of bytes, and the bit
        return (m.hist.s[SHAPE] & 511) * 8 + bitpos    # position
    if sid == 13:               # the previous byte and the bits of this byte so far
        return c0 | (m.b[B_C1] << 8)
    if sid == 14:               # the last two bytes (hashed to 13 bits), and the bit position
        return _hash13(m.hist.s[C4] & 0xFFFF) | bitpos
    if sid == 15:               # the last three bytes (hashed to 13 bits), and the bit position
        return _hash13(m.hist.s[C4] & 0xFFFFFF) | bitpos
    if sid == 16:               # the current word and the bits of this byte so far (hashed)
        return ((((m.hist.s[WORD] & 0xFFFFFF) * 0x2F0F1F3B + c0) * 0x9E3779B1) >> 16) & 0xFFFF
    return m.b[B_INSN]          # where in a 32-bit word, and the previous word's first byte


@inline
def _hash13(v):
    """v (below 2^24) hashed to 13 bits, times 8 (room for the bit position below)."""
    return ((v * 0x9E3779B1) >> 13) & 0xFFF8


@inline
def _apm_context(m, aid, c0):
    if aid == 0:                # the bits of this byte so far
        return c0
    if aid == 1:                # ... and the previous byte
        return c0 | (m.b[B_C1] << 8)
    if aid == 2:
        c2c1 = m.hist.s[C4] & 0xFFFF    # ... and the two previous bytes, hashed to 16 bits
        return (((c2c1 << 8) | c0) * 0x9E3779B1 >> 20) & 0xFFFF
    c3 = m.hist.s[C4] & 0xFFFFFF        # ... and the three previous bytes, hashed to 16 bits
    return ((((((c3 * 0x2F0F1F3B) >> 16) & 0xFFFFF) << 8) | c0) * 0x9E3779B1 >> 20) & 0xFFFF


@inline
def update_bit(m, bit):
    """Every part learns from the bit just coded."""
    cfg = m.cfg
    n_ctx = count(cfg.ctx_count)
    for i in range(n_ctx):
        sm_update(m.sm, m.sm_at[i], bit, SM_LIMIT, m.step)
        at = m.ctx_at[i]
        m.table[at] = m.next_state[2 * np.int64(m.table[at]) + bit]
    if cfg.use_match:
        sm_update(m.sm, m.sm_at[n_ctx], bit, SM_LIMIT, m.step)
    if cfg.use_long_match:
        sm_update(m.sm, m.sm_at[n_ctx + 1], bit, SM_LIMIT, m.step)
    if count(cfg.image_count) > 0:
        image_mod.update_bit(m.image, bit, count(cfg.image_count), m.step)
    n_inputs = m.x.shape[0]
    k = count(cfg.mixer_count)
    for i in range(k):
        err = (bit << 16) - m.p1[i]
        if err > TRAIN_MIN_ERROR or err < -TRAIN_MIN_ERROR:
            # (without a branch, and a shift for the division: measured 4% of level 4's time on
            # book1 with them)
            row = m.rows[i]
            n = np.int64(m.trained[row])
            m.trained[row] = n + (n < (RATE_STEPS << RATE_SHIFT) - 1)
            train(m.w, row, m.x, n_inputs, err,
                  (m.set_rate[n >> RATE_SHIFT] * cfg.mixer_scale[i]) >> 2)
    if k > 1:
        for f in range(count(cfg.final_count)):
            train(m.w2, m.final_rows[f], m.x2, m.x2.shape[0], (bit << 16) - m.final_p[f],
                  cfg.final_rate)
    for i in range(count(cfg.apm_count)):
        apm_update(m.apm, m.apm_node[i], bit, cfg.apm_rate, cfg.apm_first)


@inline
def update_byte(m, byte):
    """After the 8th bit: the history, the match models and the contexts move on a byte."""
    cfg = m.cfg
    hist_mod.push(m.hist, byte, cfg.detect_records, cfg.track_followers,
                  cfg.track_long_followers)
    if cfg.use_match:
        match_mod.update_byte(m.match, m.hist)
    if cfg.use_long_match:
        match_mod.update_byte(m.long_match, m.hist)
    start_byte(m)


@inline
def start_stream(m):
    """Before a block: on a fresh model, start_byte for the stream's first byte.  (In the
    compiled loop, not a call from Python: a function called from Python compiles on its own, for
    every model shape.)"""
    if m.b[B_STARTED] == 0:
        start_byte(m)
        m.b[B_STARTED] = 1


@inline
def start_byte(m):
    """What the next byte's bits share: the contexts' hashes and the selectors' byte parts."""
    cfg = m.cfg
    # the byte the (short) match model expects, for the contexts that use it: models/contexts.py
    # (the long model's instead, where it has a match, measured no better: level 9 without its
    # GRU, Calgary 1.6299 -> 1.6297, the C headers and libpython 1.0539 -> 1.0537)
    expected = 0
    length = m.match.s[match_mod.LEN]
    if length > 0:
        expected = m.match.s[match_mod.PREDICTED] | ((1 + (length >= 16) + (length >= 32)) << 9)
    for i in range(count(cfg.ctx_count)):
        m.ctx_hash[i] = context_hash(m.hist, cfg.contexts[i], expected)
        prefetch_line(m.table, m.ctx_hash[i], m.slot_mask)
    if count(cfg.image_count) > 0:
        image_mod.start_byte(m.image, m.hist)
        if not image_mod.active(m.image):
            for i in range(count(cfg.image_count)):
                m.x[cfg.image_at + i] = 0
    c4 = m.hist.s[C4]
    m.b[B_C1] = c4 & 255
    m.b[B_C2BITS] = ((c4 >> 12) & 15) * 16 + ((c4 >> 4) & 15)
    m.b[B_INSN] = (m.hist.s[POS] & 3) * 64 + (word_start(m.hist, 1) >> 2)
    m.b[B_COLUMN] = min(m.hist.s[POS] - m.hist.s[LINE], 63)     # (the "column" selector's)
