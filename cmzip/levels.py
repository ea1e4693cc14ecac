"""Compression levels: each level is a predictor config.

Level 1 is the fastest (few contexts), 9 the strongest; levels 1-5 are points on a frontier of
ratio against speed, and DEFAULT_LEVEL is the one that is smaller than zpaq -m5 on the
standard corpora and on real files at about its speed (README, Results).
The config is part of the format: its fingerprint is stored in every .cmz header, so a decoder
refuses a file whose models it would not rebuild identically.
"""
import zlib

from .errors import CmzipError

MIN_LEVEL, MAX_LEVEL, DEFAULT_LEVEL = 1, 9, 4

# Bumped whenever the coded bits change for the same config (a model or coder change), so that
# the fingerprint in the header tells an old file from a new decoder with a clear message.
MODEL_VERSION = 19

_FAST = ["o1", "o2", "o3", "o4"]
_TEXT = ["o1", "o2", "o3", "o4", "o6", "word"]
# Levels 3 and 4: level 2's contexts, a sparse and a record context, and the previous word;
# first-layer weight sets chosen by how many contexts were seen before, whether the match
# model predicts the bit, and the bit position ("order_match").  Measured (codec only; Calgary /
# Canterbury / 4 MiB of C headers + 4 MiB of libpython), against the former level 3 (1.7640 /
# 1.0339 / 1.2522: these 8 contexts less word2, mixers by partial byte and by match length):
#   one mixer by order_match, no deterministic inputs: 1.7549 / 1.0310 / 1.2586, the fastest
#   (no final mixer; the deterministic inputs gave nothing beside this selector on Calgary);
#   mixers by partial byte and by order_match, deterministic inputs: 1.7438 / 1.0197 / 1.2349,
#   and with the order-1 APM alone (level 4): 1.7433 / 1.0185 / 1.2316, no slower.
_MIDDLE = _TEXT + ["sparse1", "rec1", "word2"]
# Model version 6 (codec only; Calgary / Canterbury / the C headers and libpython above; the
# figures of one step include the steps before it).  Level 4 began as _MIDDLE with mixers by c0
# and order_match: 1.7433 / 1.0185 / 1.2316.
#   four-slot probes (hashtable.py) and the tuned state machine (statemap.py): 1.7402 / 1.0151 /
#     1.2281;
#   four first-layer mixers, by the partial byte and the previous byte's top 3 bits ("c0c1hi"),
#   order_match, the high nibbles of the last two bytes ("c2bits") and the byte before the last
#   ("c2"): 1.7138 / 1.0014 / 1.1924 (a fifth by the previous byte gave 1.7119 / 1.0001 / 1.1901
#   for 8% more time; c0c1hi beside c0 is worth 0.002 on Calgary alone);
#   mixer rate 16, 5x higher at the start and decaying with the stream's position (until version
#   13, below): 1.7107 / 0.9991
#   (rate 24, no boost: 1.7138; boost 2 from 16384 bytes: 1.7111; boost 8: 1.7145);
#   order 0 and the sparse context of bytes 1 and 3: 1.7039 / 0.9967 / 1.1793, then the final
#   mixer's rate 8: 1.7032 / 0.9967 / 1.1766 and the 32-bit stride context: 1.6981 / 0.9946 /
#   1.1622 (rec2 instead: 1.7007 / 0.9918, column 1.7023, aligned4 1.7023).  Each of the twelve
#   contexts is worth 0.003-0.032 on Calgary (measured by leaving each out: o0, sparse3, o6, rec1,
#   sparse1, o4); without word2: 1.7107.
# Level 3 takes c0c1hi beside order_match (1.7512 -> 1.7304 / 1.0122 / 1.2270), level 1 c0c1hi
# instead of c0 (1.9041 -> 1.8805 / 1.1808 / 1.4473); level 2 keeps c0 (c0c1hi: 1.8245 -> 1.8176
# on Calgary but 1.3959 -> 1.3995 on the real files).  Levels 5-9 take the four mixers too
# (level 5: 1.6961 / 0.9845 / 1.1256 -> 1.6875 / 0.9805 / 1.1135 with the insn mixer).
# Model version 8: the indirect contexts ind1 and ind2 (the last byte with what followed its last
# two occurrences, the last two bytes with what followed them last; models/history.py) in place
# of o0 and sparse3, the weakest two, so that level 4 keeps twelve contexts and its speed (codec
# only; Calgary / Canterbury / the C headers and libpython, from version 7's level 4, 1.6981 /
# 0.9946 / 1.1622): both added, 14 contexts 1.6881 / 0.9906 / 1.1367 but about 10% slower on
# book1; instead of o0 1.6908 / 0.9921 / 1.1415, of sparse3 1.6907 / 0.9910 / 1.1453; of both
# 1.6934 / 0.9926 / 1.1502, then the final probability three quarters the APM's (predictor.py)
# 1.6927 / 0.9922 / 1.1488.  Alone, ind1 1.6910 / 0.9925 / 1.1459, ind2 1.6929 / 0.9920 / 1.1470
# (variants with one or three followers measured no better).
_INDIRECT = ["ind1", "ind2"]
# Model version 12: contexts of the match model's expected byte and of character classes
# (models/contexts.py), weight sets by the classes of the last three runs ("shape" mixer), and
# the match model's StateMap keyed by the partial byte too (models/match.py).  Measured codec
# only, Calgary / Canterbury / the C headers and libpython, each step from the one before:
#   level 9 without its GRU, version 11: 1.6345 / 0.9475 / 1.0614; the match StateMap 1.6341 /
#     0.9470 / 1.0614; mexp 1.6320 / 0.9463 / 1.0572, mexpc1 1.6308 / 0.9456 / 1.0560, both
#     1.6299 / 0.9454 / 1.0539; then the class contexts, each alone: cls12 (8 bytes) 1.6231 /
#     0.9435 / 1.0497, clsc1 1.6258 / 0.9437 / 1.0520; cls12 with 12 bytes and clsc1 1.6198 /
#     0.9422 / 1.0470, shape and clsc1 1.6195 / 0.9421 / 1.0461, cls12, clsc1 and shape 1.6161 /
#     0.9411 / 1.0426, and shapec1 1.6146 / 0.9407 / 1.0417; the shape mixer 1.6112 / 0.9396 /
#     1.0393 (in place of the c2 mixer 1.6129 / 0.9403 / 1.0441).  Tried, not kept: the shape
#     and the previous word (-0.0009 on Calgary), an APM by the shape (-0.0004), delta mode
#     (paq8px: after the match failed in this byte, a StateMap by the byte it expected; 0).
#   level 5 (1.6483 / 0.9522 / 1.0783, book1 372 KB/s): all six contexts 1.6295 / 0.9468 /
#     1.0557 (about 5% slower), and the shape mixer 1.6237 / 0.9447 / 1.0525 (book1 2.0316 bpb;
#     20% slower than version 11 in all: `cmzip bench calgary/book1 --repeat 5`, 283 against
#     355 KB/s, in separate runs).
#   level 4 (1.6786 / 0.9753 / 1.1397): cls12 in place of stride4 1.6681 / 0.9724 / 1.1390 (in
#     place of o6 1.6691 / 0.9813 / 1.1335, of o3 1.6729 / 0.9755 / 1.1346; shape in place of
#     stride4 1.6691 / 0.9715 / 1.1412; mexpc1 beside the twelve 10% slower), then the shape
#     mixer in place of c2bits 1.6668 / 0.9722 / 1.1388, no slower (README, Results).
_MATCH_CLASSES = ["mexp", "mexpc1", "cls12", "clsc1", "shape", "shapec1"]
# Level 9 takes seven more (from 1.6112 / 0.9396 / 1.0394, level 9 without its GRU).  Classes
# with more bytes or the word: clsc2 alone 1.6081 / 0.9375 / 1.0374, shapew 1.6099 / 0.9391 /
# 1.0387, shapec2 1.6098 / 0.9389 / 1.0381 (the last 10 runs and the last byte 1.6105 / 0.9395 /
# 1.0385, not kept); clsc2 and clsc3 1.6072 / 0.9369 / 1.0361; the four 1.6057 / 0.9364 / 1.0349
# (about 7% slower without the GRU).
# Then the brackets open (paq8px's nest model): with the shape ("nests") 1.6040 / 0.9359 /
# 1.0335, with the word ("nestw") 1.6040 / 0.9359 / 1.0340, both 1.6024 / 0.9354 / 1.0327 (with
# the last byte too 1.6021 / 0.9355 / 1.0322, not kept).
# Then the word that followed the previous word last time, with the current word ("wnext",
# an indirect context of words): 1.6009 / 0.9347 / 1.0296 (with the last byte instead of the
# current word, beside it: 1.6000 / 0.9345 / 1.0290, not kept); a weight set by the brackets
# open (1.6032 / 0.9359 / 1.0326) and by the last run's class and the last byte's top 5 bits
# (1.6020 / 0.9356 / 1.0318) did not pay.
_CLASSES9 = ["shapew", "clsc2", "shapec2", "clsc3", "nests", "nestw", "wnext"]
# Model version 16 (with its final mixers, below; level 9 without its GRU, 1.5882 / 0.9251 /
# 1.0109): the last three runs' classes with the previous word ("shapeword2") 1.5878 / 0.9251 /
# 1.0105, the line's first two bytes with the column ("linecol": lines of one kind, as a
# bibliography's fields or a program's indented blocks) 1.5875 / 0.9248 / 1.0102, both 1.5870 /
# 0.9247 / 1.0099 (the word that followed the previous word with the last byte, beside wnext:
# 1.5882 / 0.9253 / 1.0107, not kept).  Each costs about 1% of level 9's time without its GRU.
_LINES9 = ["shapeword2", "linecol"]
# Model version 15: level 4 leaves out ind2, for speed.  The table's look-ups had become
# prefetches (predictor.py) and the coder kept no information sum (coder.py), both the same
# model; then level 4 coded book1 at 482 / 476 KB/s against zpaq -m5's 465 / 482 (`cmzip
# bench calgary/book1 --levels 4 --repeat 5`, on an Intel Xeon): too close to call on a shared
# machine.  Measured codec only, Calgary / Canterbury / the C headers and libpython, from 1.6610
# / 0.9691 / 1.1345, with book1's speed as medians of 5 processes alternating with the twelve:
# without ind2 1.6635 / 0.9704 / 1.1436, 614 against 561 KB/s (+9%); without rec1 1.6634 /
# 0.9741 / 1.1448; without word2 1.6739 / 0.9762 / 1.1401; without sparse1 1.6680 / 0.9694 /
# 1.1695; without the deterministic inputs 1.6656 / 0.9724 / 1.1423 at +2%; three mixers (no
# c2) 1.6693 / 0.9743 / 1.1491 at +7%.
_DEFAULT4 = _MIDDLE + ["cls12", "ind1"]
_MIXERS4 = ["c0c1hi", "order_match", "c2bits", "c2"]
_MIXERS_DEFAULT4 = ["c0c1hi", "order_match", "shape", "c2"]
_DEFAULT = ["o1", "o2", "o3", "o4", "o5", "o6", "o8", "word",
            "sparse1", "sparse3", "sparse4", "sparse5", "aligned4", "rec1", "column"]
# Level 5 adds record contexts of the stronger levels and 32-bit strides (measured on all 29
# Calgary and Canterbury files at level 5, codec compress only: 1.5072 -> 1.4861 bpb with rec2 and
# rec3, 1.4857 with stride4 too; kennedy.xls -33.5%, pic -4.8%, sum -2.9%, obj2 -2.4%, geo -1.3%;
# plain text +0.0..0.1%), then the insn_ops context and the insn mixer weight set for
# fixed-width 32-bit instructions.  Measured on sum, obj2, obj1, paper1, book1, geo, kennedy.xls,
# pic, progc, bib: the mixer alone 1.2094 -> 1.2066 bpb; with insn_ops and a second context (the
# previous word's first two bytes) 1.2010: sum 2.0527 -> 1.9473, obj2 1.9781 -> 1.9412,
# kennedy.xls 0.1645 -> 0.1567, geo -1.5%, book1 +0.10%, pic +0.3%, paper1 +0.03%.  Level 5 takes
# insn_ops and the mixer only (sum 1.9582, obj2 1.9487): about 10% more time on book1, where
# the second context made it 11%.
_BALANCED = _DEFAULT + ["rec2", "rec3", "stride4", "insn_ops"]
# With sequential coding (codec only, with the deterministic inputs; Calgary / Canterbury):
# weight sets by how many contexts were seen before (the "order" selector) 1.7110 / 0.9943 ->
# 1.7095 / 0.9935; then the previous word (word2) 1.7019 / 0.9896, order 0 too 1.7074 / 0.9925
# alone.  Both: book1 2.1068 -> 2.0950 bpb at 350 -> 310 KB/s; the C headers and libpython
# above 1.1444 -> 1.1265 with all three.  Level 5 takes all three.
# Levels 5-9 take both indirect contexts beside their own (version 8; level 5: 1.6877 / 0.9811 /
# 1.1125 -> 1.6791 / 0.9797 / 1.0935, about 6% slower; level 9 without the GRU: 1.6858 / 0.9843 /
# 1.1012 -> 1.6769 / 0.9827 / 1.0825).
# Model version 9: contexts of lines of text (the column and the byte above it, the column and the
# last byte) and of words further back, from paq8's word model (models/contexts.py).  Measured
# codec only, Calgary / Canterbury / the C headers and libpython; level 9 without the GRU, version
# 8: 1.6748 / 0.9813 / 1.0808.  Each alone beside level 9's: col 1.6644 / 0.9726 (the largest:
# bib, book1, news, the programs), wskip (the current word and the one before the previous)
# 1.6711 / 0.9795, above (the byte above and the last byte) 1.6715 / 0.9781, word3 (three words)
# 1.6722 / 0.9799, wc1 (the previous word and the last two bytes) 1.6735 / 0.9812; the first
# five 1.6577 / 0.9692, then colc1 1.6545 / 0.9653 / 1.0690.  Weight sets by the column
# ("column" mixer) 1.6523 / 0.9641, then the mixers' rate 12 and the APMs' 6 (more inputs learn
# best a little slower) 1.6509 / 0.9628.  Measured no better, not kept: the three bytes above,
# the byte above with the last two, the line's first two bytes with the column (-0.0017 on
# Calgary only), the last four letters, case-folded orders 3 and 5, a run input per context
# (paq8's run model: the byte last seen in each context's slot and how often, learned per run
# length: 1.6535 / 0.9673), APMs by a hash of the last three bytes or by the match state (less
# than 0.0003), bit-history states that keep the last bit (1.6500 / 0.9628: not worth a new state
# machine for every level), StateMap counts limited at 255 (1.6525 / 0.9640), weight sets by
# the byte above (1.6541 / 0.9649), a bit position in the StateMaps' contexts (1.6567 / 0.9653),
# a mixer by the match state, the count of known contexts or the partial byte (within 0.0008).
# With so many inputs the mixers' initial weights were too large: 0.15 each (the sum of 60-odd
# inputs' weights starts near 10) -> 0.1 1.6471 / 0.9603, 0.04 1.6451 / 0.9587, 0.03 and a
# smaller early rate boost (2) 1.6448 / 0.9580 (level 9's; level 4's twelve contexts gain
# 0.0015 on Calgary at 0.04 and kept 0.15 with their measured results; version 13's rates by
# weight set changed both: below).
# Level 5 takes the two column contexts alone (1.6778 / 0.9790 / 1.0922 -> 1.6640 / 0.9659 /
# 1.0879, about 3% slower; all six: 1.6593 / 0.9641 / 1.0819, 12% slower), and initial weights
# 0.04 (1.6594 / 0.9625 / 1.0867).  Level 4 takes none:
# col beside its twelve 1.6811 / 0.9816 / 1.1435 but a thirteenth context costs it 5-8% of its
# speed, where its margin over zpaq -m5 is about as small; in place of o6 1.6849 / 0.9918 /
# 1.1501, of sparse1 or stride4 worse on the real files (1.1783, 1.1577 against 1.1488).
_LINES = ["col", "colc1"]
_WORDS_BACK = ["wskip", "word3", "above", "wc1"]
_BALANCED5 = _BALANCED + ["word2", "o0"] + _INDIRECT + _LINES
_FULL = ["o0", "o1", "o2", "o3", "o4", "o5", "o6", "o8", "word", "word2",
         "sparse1", "sparse2", "sparse3", "sparse4", "sparse5", "aligned4", "rec1", "rec2", "column"]
# Level 6 takes rec3 and stride4 too, else level 5 would beat it on tables (level 6: kennedy.xls
# 0.1801 -> 0.1440, obj2 1.9520 -> 1.9290, pic 0.5095 -> 0.4919, sum 2.0444 -> 2.0092)
# and insn_ops with the insn mixer, as level 5 (level 6: sum 2.0092 -> 1.9188, obj2 1.9290 ->
# 1.8972, paper1 2.1604 -> 2.1592)
# Levels 6-9 take all six, weight sets by the column, the slower rates and the smaller initial
# weights (_STRONG; without the GRU, Calgary / Canterbury: level 6 1.6776 / 0.9826 -> 1.6582 /
# 0.9670 with the contexts -> 1.6543 / 0.9643 with the mixer and rates; level 8 1.6788 / 0.9837
# -> 1.6582 / 0.9676 -> 1.6543 / 0.9647)
_TEXT9 = _LINES + _WORDS_BACK
# Model version 10: the bit-image model (models/image.py: pixels predicted from the pixels
# around them in the rows above, the row width being the detected record length), 8 contexts at
# levels 5-9 (5 at level 4), and at levels 6-9 weight sets by its nearest pixels ("image"
# mixer).  Measured codec only, Calgary / Canterbury / the C headers and libpython (before the
# model was turned off on text, below):
#   level 9 without the GRU 1.6448 / 0.9580 / 1.0690 -> with 6 contexts and the mixer 1.6368 /
#   0.9490 / 1.0659, with 8 (the rows two and three above) 1.6359 / 0.9478 / 1.0649 (pic 0.4388
#   -> 0.3896; a page of text rendered at fax width, 1728 x 2376 pixels, 0.2443 -> 0.1878; geo,
#   kennedy.xls and sum smaller too); an APM by the 16-pixel template beside the three: 1.6363 /
#   0.9478 / 1.0657 (worse on text), not kept;
#   level 5 (1.6594 / 0.9625 / 1.0867): 5 contexts 1.6513 / 0.9539 / 1.0838, 8 1.6506 / 0.9533 /
#   1.0832, with the mixer 1.6503 / 0.9522 / 1.0828 (a sixth mixer for 0.0003: not taken);
#   level 4 (1.6927 / 0.9922 / 1.1488): 5 contexts (its mixers' padding has room for 5 inputs)
#   1.6800 / 0.9762 / 1.1399, but 4% slower on book1 (713 -> 684 KB/s, alternating 3 rounds:
#   the record detector finds rows of 53 bytes in book1's second half).  So the model is off on
#   text (models/image.py): level 4 1.6797 / 0.9758 / 1.1402, book1's bits unchanged, at 701
#   against 696 KB/s (alternating 4 rounds).  Level 4 takes those 5.
# Model version 14: two wide image contexts (models/image.py: 12 or 16 pixels left and 17 in
# each of the two or three rows above, hashed).  Measured codec only: level 9 without its GRU,
# pic 0.3881 -> 0.3824, geo 3.4105 -> 3.4041 (in place of two of the eight, 0.3842); with 8 rows
# of 13 pixels instead of the first, 0.3836 (not kept); weight sets by 8 or 10 nearest pixels
# instead of 5, and StateMap limits of 255 or 4000 instead of 1023: within 0.0006 on pic.
# Level 5: Calgary / Canterbury / the C headers and libpython 1.6190 / 0.9422 / 1.0505 -> 1.6178
# / 0.9404 / 1.0502 (costing nothing where no rows are found: text).
_IMAGE = dict(image=10)
_FULL6 = _FULL + ["rec3", "stride4", "insn_ops"] + _INDIRECT + _TEXT9
_MAX = _FULL + ["rec3", "aligned2"] + _INDIRECT + _TEXT9
# Level 9: every context of levels 6 and 7, and the insn mixer beside level 8's (measured without
# the GRU, codec only; Calgary / Canterbury / the C headers and libpython: level 8's contexts and
# mixers 1.6871 / 0.9817 / 1.1068, these 1.6827 / 0.9795 / 1.0969, 10% slower)
_FULL9 = _FULL6 + ["aligned2"]        # (_FULL6 has the indirect and text contexts)
# Model version 14 at levels 6-9 (linear_inputs): a third input per context, its probability - 1/2 on a linear
# scale (paq8's ContextMap gives both; predictor.LINEAR_SHIFT), and an APM by the last three
# bytes (hashed to 16 bits) beside those by the last one and two.  Measured codec only, level 9
# without its GRU, Calgary / the C headers and libpython, from 1.5957 / 1.0234: linear inputs
# 1.5947 / 1.0194, the APM 1.5947 / 1.0233; with the wide image contexts (above), all three
# 1.5925 / 1.0190, Canterbury 0.9296 -> 0.9276; 20% slower without the GRU (110 -> 88 KB/s, two
# files at once), no slower measured with it (paper2, version 13 / 14 alternating: 4.4 / 4.4 and
# 4.7 / 4.8 KB/s); level 9 with its GRU, Calgary 1.5896 / 0.9262 -> 1.5869 / 0.9247.  At level 5 the linear inputs measured 1.6186 / 0.9428 / 1.0462 against
# 1.6190 / 0.9422 / 1.0505 (Canterbury worse, 10% slower): not taken there.
# Model version 16: final mixers by the last byte (levels 3-5), and by the byte before it and
# by order_match too (levels 6-9, learning faster: final_lr 6), beside the one by the partial
# byte, their outputs averaged as stretches (predictor.py).  Measured codec only, Calgary /
# Canterbury / the C headers and libpython:
#   level 9 without its GRU 1.5925 / 0.9276 / 1.0190 -> c0 and c1 1.5901 / 0.9258 / 1.0146 (c0
#     and order_match 1.5907 / 0.9266 / 1.0166, match 1.5908, shape 1.5911, c0c1hi 1.5913);
#     c0, c1 and c2 1.5897 / 0.9255 / 1.0128; with order_match too 1.5893 / 0.9254 / 1.0129,
#     final_lr 6 1.5890 / 0.9254 / 1.0120 (8: 1.5890 / 0.9256 / 1.0114; a fifth, by the column,
#     1.5895).  Tried, not kept: the APMs' share of the final probability 1/2 or 7/8 instead
#     of 3/4 (1.5909, 1.5900 with two final mixers), an APM by the bit image's 16-pixel
#     template (pic 0.3811 -> 0.3787, the real files 0.0004 worse);
#   level 6 without its GRU, Calgary 1.6032 -> 1.5999 with the four;
#   level 5 1.6161 / 0.9392 / 1.0495 -> 1.6142 / 0.9379 / 1.0454 with c0 and c1 at the same speed
#     (book1, alternating 3 rounds: 250 against 249 KB/s), 1.6136 / 0.9376 / 1.0432 with the
#     four at final_lr 6 but 4% slower (239);
#   level 4 1.6635 / 0.9704 / 1.1436 -> 1.6612 / 0.9684 / 1.1393 with c0 and c1, no slower
#     measured (book1, two sets of processes alternating, 5 and 8 rounds: medians 646 and 635
#     against 648 and 623 KB/s);
#   level 3 1.7238 / 1.0075 / 1.2202 -> 1.7212 / 1.0056 / 1.2148.
# Then level 9 takes a first-layer mixer by the partial byte alone: 1.5890 / 0.9254 / 1.0120 ->
# 1.5882 / 0.9251 / 1.0109 (by the match state 1.5889, by the count of known contexts 1.5893).
# With its GRU (whose AdamW changed too at version 16: learn/kernels.py), level 9 codes Calgary
# / Canterbury to 1.5832 / 0.9229 (version 15: 1.5869 / 0.9247), and to 1.5822 / 0.9226 with the
# two contexts of _LINES9 (above).
# Not kept: contexts of the byte the GRU expects (read greedily from its bit predictions) and
# how sure it is, alone and with the last byte, as mexp and mexpc1 are of the match model's:
# level 9 with its GRU on bib, obj2, paper1, paper2, progc, progl, trans and geo 1.7331 ->
# 1.7320 (obj2 -0.23%, the others within 0.04%).
_FINAL_C1 = ["c0", "c1"]
_STRONG = dict(mixer_lr=12, apm_rate=6, init_weight=0.03, rate_boost=4, linear_inputs=True,
               final_mixers=["c0", "c1", "c2", "order_match"], final_lr=6)
_APMS9 = ["c0", "c1", "c2", "c3"]
# Model version 18 (levels 5 and 9): an APM node's first steps average what it has seen (the
# n-th 1/(n + 8) of the way to the bit: apm_first) until its fixed rate, now 2^-8, is the larger
# step; most of the 2^16-row APMs' nodes learn from a few bits only.  Measured codec only,
# Calgary / Canterbury / the C headers and libpython: level 9 without its GRU 1.5870 / 0.9247 /
# 1.0099 -> 1.5836 / 0.9222 / 1.0094 (apm_first 2 1.5885, 4 1.5856, 16 with rate 8 1.5840;
# rate 6 1.5849, 7 1.5840, 9 1.5834 / 0.9220 / 1.0096); level 5 1.6142 / 0.9379 / 1.0454 ->
# 1.6107 / 0.9355 / 1.0443; level 4 1.6612 / 0.9684 / 1.1393 -> 1.6614 / 0.9681 / 1.1406 (rate
# 7: 1.6622 / 0.9686 / 1.1406): not taken there.
# Then level 9's first-layer mixers twice, the copies learning at a quarter of the rate
# (mixer_scale, in quarters): the final mixers weigh a fast and a slow estimate under each
# selector.  1.5836 / 0.9222 / 1.0094 -> 1.5792 / 0.9184 / 1.0044 (the copies at half the rate
# 1.5802 / 0.9194 / 1.0058, at twice 1.5852 / 0.9238 / 1.0059; three copies at 1, 1/4 and 1/2
# 1.5794 / 0.9188 / 1.0042; the first at 3/2 1.5792 / 0.9188 / 1.0032; no copies, all at half
# the rate 1.5816 / 0.9190 / 1.0137).  The copies cost about a third of level 9's time without
# its GRU (codec only, about 120 -> 90 KB/s, two files at once); with it, not yet measured.  Tried, not kept: a learned mix of the APMs' and the mixers' outputs
# in place of their fixed average (1.5831 / 0.9219 / 1.0085, a new component for 0.0005), the
# APMs of two and three bytes hashed to 2^18 rows instead of 2^16 (1.5834 / 0.9221 / 1.0089),
# a table of 2^26 slots (1.5834 / 0.9221 / 1.0082, four times the memory), every mixer error
# trained (TRAIN_MIN_ERROR 0: 1.5828 / 0.9208 / 1.0105).
_APM_COUNTED = dict(apm_first=8, apm_rate=8)
# Model version 19 (level 9): four first-layer mixers with weight sets by larger contexts
# (predictor.SELECTORS: the last byte with the partial byte, the last two and the last three
# bytes hashed to 13 bits with the bit position, the current word with the partial byte hashed
# to 16 bits), indirect contexts of orders 3 and 4 (the last byte with the last two bytes that
# followed the last three / four: ind3, ind4), and bit-history states that keep the last bit
# where both values have been seen in at most 10 bits (statemap.py).  Measured codec only, level
# 9 without its GRU, Calgary / Canterbury / the C headers and libpython, from 1.5792 / 0.9184 /
# 1.0044, each alone: c2c1 1.5769 / 0.9176 / 0.9990, c1c0 1.5779 / 0.9180 / 1.0011, the word
# (hashed to 9 bits) with the bit position 1.5779 / 0.9178 / 1.0039, ind3 1.5776 / 0.9179 /
# 1.0027, the states 1.5785 / 0.9186 / 1.0025 (up to 6 bits: 1.5788 / 0.9184 / 1.0037); c2c1
# with c3c2c1 1.5761 / 0.9173 / 0.9977, with wordc0 1.5759 / 0.9171 / 0.9984, with the last two
# bytes and the partial byte 1.5766 / 0.9175 / 0.9980; the four selectors and ind3 1.5737 /
# 0.9164 / 0.9942; ind4 beside ind3 -0.0004 / -0.0002 / -0.0004, the states -0.0006 / +0.0001 /
# -0.0017 (each measured beside c2c1, the word, c1c0 and ind3).  Tried, not kept: c2c1 twice
# (the copy at a quarter of the rate: 1.5769 / 0.9175 / 0.9985), a fifth final mixer by c2c1
# (1.5775), the four final mixers twice (the copies at a third of the rate: 1.5774), the APMs
# twice (the copies at rate 6: 1.5796), a fourth input per context from a StateMap that adapts
# fast (limit 20: 1.5824), o7 (1.5770 beside c2c1), the indirect context of the last two bytes
# with both followers (1.5789), mixer_lr 14 (1.5768 beside c2c1), a new weight set starting from
# the first mixer's set instead of the initial weights (1.5741 against 1.5737).
_SELECTORS9 = ["c2c1", "wordc0", "c3c2c1", "c1c0"]
_INDIRECT9 = ["ind3", "ind4"]

# The byte learners of the stronger levels.  The GRU runs compiled inside the block loop
# (models/gru_core.py): every `every` bytes it back-propagates the last `every` predictions through
# the last `window` steps and AdamW takes a step.  Measured with model version 5 (before version
# 6's mixers) on Calgary's 14 text files (2.37 MB),
# codec compress only (experiments/gru_gain.py, learner_gain.py), CPU time per byte, each file a
# fresh stream; "without" has the information budget of a level without learners (min_bit_cost
# 1, as `--predictors` and `bench --ablate` give it):
#   level 6 without the GRU                       558079 bytes, 1.8858 bpb,  3.1 us/byte
#   hidden 128, window 10, every 10, lr 0.005     554065 (-0.72%),           45 us/byte (GRU alone 2.685 bpb)
#     lr 0.01 decaying to 0.002 (half-life 1000 steps: exponential, a curriculum over the stream)
#                                                 552376 (-1.02%),           46 us/byte (GRU alone 2.575 bpb)
#   hidden 128, window 20, every 5,  lr 0.002     551169 (-1.24%),           92 us/byte (GRU alone 2.565 bpb)
#     lr 0.01 decaying to 0.002 (half-life 2000)  551427 (-1.19%),           87 us/byte
#   level 8 without the GRU                       558739 bytes, 1.8880 bpb,  3.2 us/byte
#     window 20, every 5, lr 0.01 -> 0.002        551757 (-1.25%),           82 us/byte
#   level 9 (version 5) without the GRU           556651 bytes, 1.8809 bpb,  3.2 us/byte
#     window 20, every 5, lr 0.002 (level 8's)    549580 (-1.27%),           85 us/byte
#     (all 18 Calgary files: 689463 -> 679664 bytes, 1.6964 -> 1.6723 bpb, -1.42%)
#     hidden 256 (window 20, every 5, lr 0.002)  548517 (-1.46%),          309 us/byte (GRU alone 2.482 bpb)
# `cmzip bench --ablate --levels 6` on the same files (with the container, compress and
# decompress): 552895 bytes (1.868 bpb, 20.9 / 16.9 KB/s), without the GRU 558598 (1.888, 84.4 /
# 89.7 KB/s): -1.02%; without the match model 556842 (1.882).
# (Figures before this measured "without" at the level's own min_bit_cost of 64, which costs up
# to 0.008 bits per byte: level 6 558926, so that the gains read 0.05-0.15% larger; the subset
# figures below are so measured, against each other.)
# On paper1, paper2, progc and bib (286 KB; without the GRU 68026 bytes), hidden 128: window 10 /
# every 10 at lr 0.001, 0.002, 0.005, 0.01: -0.98%, -1.38%, -1.42%, -1.05%; window 10 / every 5,
# lr 0.005: -1.52% (66 us/byte); window 20 / every 5: -1.81% (lr 0.002), -1.75% (lr 0.005); with
# lr 0.005: beta2 0.99 -1.36%, an update-gate bias of 1 -1.46%, clipping by value at 1 -1.41%
# (by norm at 5: -1.42%); SGD (lr 0.1, clipped by value at 5) -0.39%.  Exponential decay from
# lr 0.01 to 0.002 (half-life 1000 steps): window 10 / every 10 -1.79% (0.02 -> 0.003, half-life
# 500: -1.45%; 0.01 -> 0.004, half-life 2000: -1.50%); window 20 / every 5 -2.02% (90 us/byte;
# 0.02 -> 0.003: -1.10%); hidden 64, window 20 / every 5 -1.80% (33 us/byte), window 40 / every 10
# -1.70% (27 us/byte); window 10 / every 2 (lr 0.01 -> 0.001, half-life 5000) -1.72% (126
# us/byte); hidden 256, window 20 / every 5, lr 0.002 -2.10% (317 us/byte).  Tried and not kept
# (window 10 / every 10 with the decay, -1.79% without them): the
# byte before the last as a second input row of the GRU -1.68%, the GRU's P(1) - 1/2 as a second,
# linear mixer input -1.70%, weight sets by the sign and size of the GRU's stretch -1.84%, an APM
# by it -1.78%, the confidence selector ("byte") at level 6 -1.85%.
# Levels 6 and 7 take the faster GRU (about 20 KB/s), levels 8 and 9 the stronger one (about
# 11 KB/s).  Before (numpy, window 10 every 10 bytes): 1-4 KB/s, level 8 (hidden 256) -1.01%.
_GRU = ("gru", {"hidden": 128, "window": 10, "every": 10, "lr": 0.01, "decay": "exponential",
                "lr_floor": 0.002, "half_life": 1000})
_GRU_STRONG = ("gru", {"hidden": 128, "window": 20, "every": 5, "lr": 0.002})
# Level 9 takes level 8's GRU, with more contexts and mixers (_FULL9, above).  A GRU of hidden 256 there measured 0.19% smaller on Calgary's
# text with version 5 (above) but larger on book1, the largest file (`cmzip bench --levels 8,9`,
# version 6: 197240 bytes, 2.053 bpb, 3.3 / 3.1 KB/s, against 197041, 2.050 bpb, 11.5 / 12.8 KB/s
# with hidden 128; version 5: 197648 against 197549 bytes), at 3.6 times the time: not taken.
# The QCT is in no level (selectable with --predictors): at level 9 as it was (with the GRU of
# window 10, every 10, lr 0.005), on paper1 and progc (experiments/learner_gain.py), with it
# 23662 bytes against 23663 without (-0.004%, the target was 0.3%), at 657 against 38 us/byte: its own predictions are 4.3-4.4 bpb, the GRU's 2.9.
_QCT = ("qct", {"train_lanes": 1, "train_every": 16})

# slot_bits: log2 of the bucket table's slots (16 bytes each; 22 -> 64 MiB), shared by all
# contexts (level 4 with 23 or 24, codec only: Calgary / Canterbury / the C headers and
# libpython 1.6797 / 0.9758 / 1.1402 -> 1.6796 / 0.9757 / 1.1392 and 1.6795 / 0.9757 / 1.1388:
# the buckets' replacement keeps what matters, and the table is not what limits the ratio);
# history_bits: the stream history the match model and record contexts can reach; match_bits:
# the match model's table.  Tables are no bigger than the first block can fill.
# deterministic_inputs: a second mixer input per context, its stretch where only one bit value
# has been seen in it (measured, codec only, Calgary / Canterbury totals: level 1 1.9142 / 1.1983
# -> 1.9059 / 1.1905, level 3 1.7688 / 1.0339 -> 1.7640 / 1.0280, level 5 1.7155 / 0.9988 ->
# 1.7110 / 0.9943; 4 MiB of C headers and 4 MiB of libpython, level 1: 1.4699 -> 1.4551).
# Model version 13: a first-layer weight set's rate starts (1 + rate_boost) times mixer_lr and
# decays with how often that set has been trained (rate_half: predictor._set_rates), where it
# decayed before with the stream's position (5x at first, the extra part halved after 16384
# bytes; levels 6-9 3x).  Sets chosen rarely (by the last byte, the shape, the partial byte) keep
# learning fast for longer.  Measured codec only, Calgary / Canterbury / the C headers and
# libpython, version 12 -> 13 (boost, half 256 unless named; "taken" marks the level's setting):
#   level 1 1.8692 / 1.1681 / 1.4392 -> 1.8649 / 1.1644 / 1.4345 (4), 1.8647 / 1.1635 / 1.4328
#     (6, taken);
#   level 2 1.8171 / 1.1149 / 1.3883 -> 1.8128 / 1.1101 / 1.3875 (4), 1.8136 / 1.1096 / 1.3868
#     (6, taken);
#   level 3 1.7264 / 1.0089 / 1.2230 -> 1.7242 / 1.0076 / 1.2211 (4), 1.7238 / 1.0075 / 1.2202
#     (6, taken);
#   level 4 1.6668 / 0.9722 / 1.1388 -> 1.6634 / 0.9703 / 1.1360 (4), 1.6626 / 0.9703 / 1.1349
#     (6, taken), 1.6627 / 0.9709 / 1.1343 (8), 1.6631 / 0.9709 / 1.1336 (6, half 512), 1.6641 /
#     0.9705 / 1.1369 (4, half 128), 1.6645 / 0.9708 / 1.1366 (3); then first weights 0.08
#     instead of 0.15: 1.6610 / 0.9691 / 1.1345 (0.06 the same, 0.1 1.6612 / 0.9693 / 1.1346,
#     0.22 1.6666 / 0.9727 / 1.1356; at levels 1 and 3, 0.1 measured worse than 0.15);
#   level 5 1.6237 / 0.9447 / 1.0525 -> 1.6190 / 0.9421 / 1.0505 (4, taken), 1.6212 / 0.9442 /
#     1.0502 (6);
#   level 9 without its GRU 1.6009 / 0.9347 / 1.0296 -> 1.5989 / 0.9344 / 1.0280 (4, taken; on
#     Calgary / the real files: half 64 1.5989 / 1.0290, boost 2 1.5991 / 1.0286, boost 12 and
#     half 64 1.6010 / 1.0288, both schedules at once 1.6010 / 1.0281).
_BASE = dict(slot_bits=22, history_bits=24, match=True, match_bits=22, match_min=6,
             mixer_lr=16, rate_boost=6, rate_half=256, final_lr=4, apm_rate=7, init_weight=0.15, deterministic_inputs=True,
             final_mixers=["c0"])

# Model version 11: a second match model for long repeats at levels 5-9 (models/match.py: it
# follows only matches of long_match_min bytes or more, found by a hash of all of them; its table
# has up to 2^long_match_bits entries).  Measured codec only, Calgary / Canterbury / the C
# headers and libpython: level 9 without its GRU 1.6360 / 0.9478 / 1.0651 -> 1.6345 / 0.9475 /
# 1.0614 with min 16 (min 12 1.6346 / 1.0620, 20 1.6346 / 0.9475 / 1.0613, 32 1.6350 / 0.9476 /
# 1.0616); level 5 1.6503 / 0.9530 / 1.0832 -> 1.6485 / 0.9526 / 1.0784, book1 421 -> 401 KB/s
# in one run each (the machine's noise is about as large).  Level 4 keeps its speed instead.
_LONG_MATCH = dict(long_match_min=16, long_match_bits=20)
# Model version 14: level 5 takes an APM by the last two bytes (hashed) beside its two; measured
# codec only, Calgary / Canterbury / the C headers and libpython, with the wide image contexts:
# 1.6178 / 0.9404 / 1.0502 -> 1.6160 / 0.9392 / 1.0495 (the last three bytes instead: 1.6163 /
# 0.9395 / 1.0500; both: 1.6156 / 0.9390 / 1.0497, a fourth APM's time for 0.0004).
_APMS5 = ["c0", "c1", "c2"]

_MIXERS9 = _MIXERS4 + ["c1", "insn", "byte", "column", "image", "shape", "c0"]

LEVELS = {
    1: dict(_BASE, contexts=_FAST, mixers=["c0c1hi"], apms=[], slot_bits=20),
    2: dict(_BASE, contexts=_TEXT, mixers=["c0"], apms=["c1"]),
    3: dict(_BASE, contexts=_MIDDLE, mixers=["c0c1hi", "order_match"], apms=["c0", "c1"],
            deterministic_inputs=False, final_mixers=_FINAL_C1),
    4: dict(_BASE, image=5, contexts=_DEFAULT4, mixers=_MIXERS_DEFAULT4, apms=["c1"], final_lr=8,
            init_weight=0.08, final_mixers=_FINAL_C1),
    5: dict(_BASE, **_IMAGE, **_LONG_MATCH, contexts=_BALANCED5 + _MATCH_CLASSES,
            mixers=_MIXERS4 + ["insn", "shape"], apms=_APMS5, init_weight=0.04,
            rate_boost=4, final_mixers=_FINAL_C1, **_APM_COUNTED),
    6: dict(_BASE, **_STRONG, **_IMAGE, **_LONG_MATCH, contexts=_FULL6 + _MATCH_CLASSES,
            mixers=_MIXERS4 + ["insn", "column", "image", "shape"],
            apms=_APMS9, slot_bits=23, byte_models=[_GRU]),
    7: dict(_BASE, **_STRONG, **_IMAGE, **_LONG_MATCH, contexts=_MAX + _MATCH_CLASSES,
            mixers=_MIXERS4 + ["c1", "column", "image", "shape"],
            apms=_APMS9, slot_bits=23, byte_models=[_GRU]),
    8: dict(_BASE, **_STRONG, **_IMAGE, **_LONG_MATCH, contexts=_MAX + _MATCH_CLASSES,
            mixers=_MIXERS4 + ["c1", "byte", "column", "image", "shape"],
            apms=_APMS9, slot_bits=24, byte_models=[_GRU_STRONG]),
    9: dict(_BASE, **dict(_STRONG, **_APM_COUNTED), **_IMAGE, **_LONG_MATCH,
            contexts=_FULL9 + _MATCH_CLASSES + _CLASSES9 + _LINES9 + _INDIRECT9,
            mixers=_MIXERS9 * 2 + _SELECTORS9,
            mixer_scale=[4] * len(_MIXERS9) + [1] * len(_MIXERS9) + [4] * len(_SELECTORS9),
            last_bit_until=10, apms=_APMS9, slot_bits=24, byte_models=[_GRU_STRONG]),
}


# Levels 1-5 (their own predictor sets) each compile a loop of their own, with their counts of
# contexts, mixers and APMs as constants (predictor.Config): 5-13% faster, at about 12 s of
# compiling each on its first use on a machine.  Levels 6-9, whose GRU takes most of their time,
# and every other predictor set share one loop that reads the counts at run time: one compile
# for all of them (measured at level 7 without its GRU, book1, codec only, alternating 3 times:
# 313 KB/s unrolled, 278 with the shared loop; with the GRU, at about 20 KB/s, under 1%).  The
# bits are the same either way.
UNROLLED_LEVELS = (1, 2, 3, 4, 5)


def _min_bit_cost(byte_models):
    """The least a bit counts in the decoder's information budget, in 2^-16 bit (coder.py): 64
    where byte learners make decoding slow (11-20 KB/s with the GRU, about 1.5 KB/s with the
    QCT), so that a hostile block header fails within seconds there too; it costs at most 0.008
    bits per byte on the most redundant data."""
    return 64 if byte_models else 1


for _cfg in LEVELS.values():
    _cfg["min_bit_cost"] = _min_bit_cost(_cfg.get("byte_models"))


# Predictors a level can be given instead of its own set (`--predictors`).  The context models
# are the base of every level and always present; the others are bits of the header's flags
# byte, whose top bit says "this set, not the level's own".
OPTIONAL_PREDICTORS = {"match": 0x01, "gru": 0x02, "qct": 0x04}
PREDICTORS = ("context",) + tuple(OPTIONAL_PREDICTORS)
CUSTOM_SET = 0x80
# the byte learners' settings when a predictor set adds one to a level that has none
BYTE_MODEL_DEFAULTS = {"gru": _GRU[1], "qct": _QCT[1]}


def check_level(level):
    if not isinstance(level, int) or isinstance(level, bool) or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise CmzipError(f"level must be an integer from {MIN_LEVEL} to {MAX_LEVEL}, got {level!r}")
    return level


def level_predictors(level):
    """The names of the predictors a level uses by default."""
    cfg = LEVELS[check_level(level)]
    names = ["context"] + (["match"] if cfg["match"] else [])
    return names + [name for name, _ in cfg.get("byte_models", [])]


def predictor_flags(level, predictors=None):
    """The header flags byte for a predictor set at a level (0: the level's own set)."""
    if predictors is None:
        return 0
    names = list(predictors)
    unknown = [p for p in names if p not in PREDICTORS]
    if unknown:
        raise CmzipError(f"unknown predictor {unknown[0]!r}; choose from {', '.join(PREDICTORS)}")
    if "context" not in names:
        raise CmzipError("the predictor set must include 'context' (the base of every level)")
    if sorted(set(names)) == sorted(level_predictors(level)):
        return 0
    return CUSTOM_SET | sum(OPTIONAL_PREDICTORS[p] for p in set(names) - {"context"})


def check_flags(flags):
    if flags and not (flags & CUSTOM_SET and (flags & 0x7F) < 0x08):
        raise CmzipError(f"corrupt stream header: unknown flags {flags:#04x}")
    return flags


def level_config(level, flags=0):
    """The full model config of a level, with the predictor set the flags byte names."""
    cfg = LEVELS[check_level(level)]
    if not check_flags(flags):
        return cfg
    own = dict(cfg.get("byte_models", []))
    byte_models = [(name, own.get(name, BYTE_MODEL_DEFAULTS[name]))
                   for name in ("gru", "qct") if flags & OPTIONAL_PREDICTORS[name]]
    # a predictor set names the learners to use, whatever the input's size
    return dict(cfg, match=bool(flags & OPTIONAL_PREDICTORS["match"]), byte_models=byte_models,
                learners_from=0, min_bit_cost=_min_bit_cost(byte_models))



def stream_byte_models(config, first_block_len):
    """The byte learners (GRU, QCT) a stream uses: the config's, unless its first block (the
    whole input, when it is shorter than a block) is below the level's `learners_from`."""
    if first_block_len < config.get("learners_from", 0):
        return []
    return config.get("byte_models", [])


def level_fingerprint(level, flags=0):
    """32-bit fingerprint of the full model config (level and predictor set)."""
    return zlib.crc32(repr((MODEL_VERSION, sorted(level_config(level, flags).items()))).encode())


def describe_level(level, flags=0, first_block_len=None):
    """The level's predictors and mixers; with first_block_len, the byte learners that a stream
    with that first block actually uses."""
    cfg = level_config(level, flags)
    predictors = [f"context[{','.join(cfg['contexts'])}]"]
    if cfg["match"]:
        predictors.append(f"match(min {cfg['match_min']})")
        if cfg.get("long_match_min"):
            predictors.append(f"match(min {cfg['long_match_min']})")
    if cfg.get("image"):
        predictors.append(f"image({cfg['image']})")
    learners = (cfg.get("byte_models", []) if first_block_len is None
                else stream_byte_models(cfg, first_block_len))
    for name, settings in learners:
        predictors.append(name + "".join(f" {k}={v}" for k, v in sorted(settings.items())))
    return {"level": level, "predictors": predictors, "mixers": list(cfg["mixers"])}


def level_memory(level):
    """About how many bytes a stream's models take at a level, at most (the tables; small
    inputs get smaller ones): what -T 0 budgets per thread."""
    from .predictor import weight_bytes      # (predictor.py imports nothing of this module)
    cfg = LEVELS[check_level(level)]
    apm_rows = {"c0": 256, "c1": 1 << 16, "c2": 1 << 16, "c3": 1 << 16}
    learners = 64 << 20 if cfg.get("byte_models") else 0
    return ((16 << cfg["slot_bits"]) + (8 << cfg["match_bits"]) + (1 << cfg["history_bits"])
            + sum(apm_rows[a] for a in cfg["apms"]) * 25 * 4
            # the bit-image model's uint32 StateMaps: 2^16 entries for each of the first eight
            # contexts, up to 2^22 for each wide one (models/image.py)
            + (min(cfg.get("image", 0), 8) << 18) + (max(cfg.get("image", 0) - 8, 0) << 24)
            + ((8 << cfg["long_match_bits"]) if cfg.get("long_match_min") else 0)
            + weight_bytes(cfg, len(cfg.get("byte_models", []))) + learners)
