"""The predictor: everything between "the bits coded so far" and "P(next bit = 1)".

Reads top to bottom like lpaq's: the models name StateMap entries (and give direct inputs), which
become stretched probabilities; byte learners (GRU, QCT) add their bit predictions as inputs; a
layer of mixers combines them under weight sets chosen by small contexts, a final mixer combines
the mixers, and APM stages refine the result.  One instance
serves all lanes; the learned tables are shared by the lanes and live as long as the stream;
per-lane arrays are (..., L).
"""
import numpy as np

from .exact import STRETCH, squash
from .levels import stream_byte_models
from .mixer import APM, Mixer
from .models.context import ContextModel
from .models.match import MatchModel
from .models import byte_models
from .statemap import P22, StateMap

BIAS = 256           # a constant input lets every mixer learn an offset

# weight-set selectors of the first mixer layer, and APM contexts: name -> number of values
SELECTOR_SIZES = {"c0": 256, "c1": 256, "match": 16 * 8, "order": 16 * 8, "c2bits": 256,
                  "byte": 12 * 8, "insn": 4 * 64}
APM_SIZES = {"c0": 256, "c1": 1 << 16, "c2": 1 << 16}


def _table_bits(limit, n, extra):
    """Table size for a stream whose first block has n bytes: no bigger than the data can fill."""
    return int(min(limit, max(12, n.bit_length() + extra)))


class Predictor:
    def __init__(self, config, first_block_len):
        n = first_block_len
        self.context = ContextModel(config["contexts"], _table_bits(config["table_bits"], n, 5))
        self.models = [self.context]
        self.match = None
        if config["match"]:
            self.match = MatchModel(_table_bits(config["match_bits"], n, 1), config["match_min"])
            self.models.append(self.match)
        # one StateMap serves every model: each owns a block of entries, and all look-ups of
        # a bit are one gather, all updates one pass
        base = 0
        for m in self.models:
            m.map_base = base
            base += m.map_size
        self.statemap = StateMap(
            np.concatenate([m.map_init if m.map_init is not None else np.full(m.map_size, P22 // 2)
                            for m in self.models]),
            limit=1023, lane_cap=config["lane_cap"],
            confidence=np.concatenate([m.map_confidence(config["novel_prior"]) for m in self.models]))
        self.n_maps = sum(m.n_maps for m in self.models)
        # byte-level learners (GRU, QCT): each predicts the next byte's distribution and gives
        # the mixer its bit predictions as direct inputs
        self.byte_models = [byte_models.create(name, cfg)
                            for name, cfg in stream_byte_models(config, first_block_len)]
        self.byte_inputs_at = self.n_maps + (1 if self.match else 0)
        n_byte_inputs = sum(m.n_inputs for m in self.byte_models)
        self.learners = self.models + self.byte_models          # everything told about each byte
        self.n_inputs = self.byte_inputs_at + n_byte_inputs + 1
        self.selectors = config["mixers"]
        self.uses_insn = "insn" in self.selectors
        k = len(self.selectors)
        self.mixer = Mixer(self.n_inputs, [SELECTOR_SIZES[s] for s in self.selectors],
                           lr=config["mixer_lr"], init_weight=config["init_weight"],
                           lane_cap=config["lane_cap"])
        self.final = Mixer(k + 1, [256], lr=config["final_lr"], init_weight=1 / k,
                           lane_cap=config["lane_cap"]) if k > 1 else None
        self.apm_contexts = config["apms"]
        self.apm = APM([APM_SIZES[a] for a in self.apm_contexts]) if self.apm_contexts else None

    def start_block(self, hist):
        self.hist = hist
        for m in self.learners:
            m.start_block(hist)
        lanes = hist.lanes
        self.x = np.zeros((self.n_inputs, lanes))            # first-layer inputs
        self.x[-1] = BIAS
        self.x2 = np.zeros((len(self.selectors) + 1, lanes))  # final-mixer inputs
        self.x2[-1] = BIAS
        self.selected = np.zeros((len(self.selectors), lanes), dtype=np.int64)
        self.apm_selected = np.zeros((len(self.apm_contexts), lanes), dtype=np.int64)

    def start_byte(self):
        for m in self.learners:
            m.start_byte(self.hist)
        c1 = self.hist.c1()
        c2 = ((self.hist.c4 >> np.uint64(8)) & np.uint64(0xFF)).astype(np.int64)
        self.c1 = c1
        self.c1_shifted = c1 << 8
        self.c2c1_shifted = (c2 << 16) | (c1 << 8)
        self.c2bits = (c2 >> 4) * 16 + (c1 >> 4)
        if self.uses_insn:
            # where in a 32-bit word, and the top 6 bits of the previous word's first byte
            self.insn = (self.hist.pos & 3) * 64 + (self.hist.word_start(1) >> 2)

    def predict(self, c0, bitpos):
        """P(next bit = 1) for every lane, as p16 (L,)."""
        contexts = np.concatenate([m.bit_contexts(c0, bitpos) for m in self.models])
        self.x[:self.n_maps] = STRETCH[self.statemap.predict(contexts)]
        if self.match:
            self.x[self.n_maps] = self.match.bit_inputs()
        i = self.byte_inputs_at
        for m in self.byte_models:
            self.x[i:i + m.n_inputs] = m.bit_inputs(c0, bitpos)
            i += m.n_inputs
        s, p = self.mixer.predict(self.x, self._selectors(c0, bitpos))
        if self.final is not None:
            self.x2[:-1] = s
            s, p = self.final.predict(self.x2, c0[None, :])
        if self.apm is None:
            return p[0]
        refined = self.apm.predict(p[0], self._apm_contexts(c0))
        # average in the stretch domain, the mixer's own estimate keeping half the weight: a
        # near-certain prediction stays near-certain even while an APM is still catching up
        k = len(self.apm_contexts)
        return squash((k * s[0] + STRETCH[refined].sum(axis=0)) // (2 * k))

    def update(self, bits):
        self.statemap.update(bits)
        for m in self.models:           # byte learners learn per byte, in start_byte
            m.update(bits)
        self.mixer.update(bits)
        if self.final is not None:
            self.final.update(bits)
        if self.apm is not None:
            self.apm.update(bits)

    def _selectors(self, c0, bitpos):
        """The weight set each first-layer mixer uses, per lane: (K, L)."""
        for row, name in zip(self.selected, self.selectors):
            if name == "c0":                   # the bits of this byte so far
                row[:] = c0
            elif name == "c1":                 # the previous byte
                row[:] = self.c1
            elif name == "match":              # the match length bucket, and the bit position
                row[:] = self.match.bucket * 8 + bitpos if self.match else bitpos
            elif name == "order":              # how many contexts have been seen before
                row[:] = np.minimum(np.count_nonzero(self.context.state, axis=0), 15) * 8 + bitpos
            elif name == "c2bits":             # high nibbles of the previous two bytes
                row[:] = self.c2bits
            elif name == "insn":               # fixed-width instructions: where in the word, and
                row[:] = self.insn             # what kind of instruction came before
            elif name == "byte":               # how sure the first byte learner is, and the bit position
                if self.byte_models:
                    sure = np.abs(self.x[self.byte_inputs_at]).astype(np.int64) >> 8
                    row[:] = np.minimum(sure, 11) * 8 + bitpos
                else:                          # a predictor set without byte learners
                    row[:] = bitpos
        return self.selected

    def _apm_contexts(self, c0):
        """The context of each APM, per lane: (n_apms, L)."""
        for row, name in zip(self.apm_selected, self.apm_contexts):
            if name == "c0":                   # the bits of this byte so far
                row[:] = c0
            elif name == "c1":                 # ... and the previous byte
                row[:] = c0 | self.c1_shifted
            elif name == "c2":                 # ... and the two previous bytes, hashed to 16 bits
                row[:] = (((self.c2c1_shifted | c0) * 0x9E3779B1) >> 20) & 0xFFFF
        return self.apm_selected
