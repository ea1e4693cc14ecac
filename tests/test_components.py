"""Each compiled component does what its docstring says: the history and its summaries, record
detection, the bucket table's claim and replacement, StateMap steps, mixer training and APMs,
the bit-image model's templates.
The compiled functions are called from Python here, one at a time."""
import numba
import numpy as np
import pytest

from cmzip.exact import SMAX, SQUASH, STRETCH
from cmzip.hashtable import SLOT, find_slot, new_table
from cmzip.mixer import apm_predict, apm_update, dot, new_apm, new_weights, padded, train
from cmzip.models import history as hm
from cmzip.models.contexts import CONTEXT_IDS, context_hash
from cmzip.predictor import _apm_context, predict_bit, update_bit, update_byte
from cmzip.statemap import (COUNT_BITS, NEXT_STATE, STATE_COUNTS, STEP, new_statemap,
                            sm_p16, sm_update, state_tables)


def _history_after(data, detect_records=False, buf_bits=16, track_followers=True):
    h = hm.new_history(buf_bits)
    for byte in data:
        hm.push(h, byte, detect_records, track_followers, track_followers)
    return h


def test_history_keeps_the_last_eight_bytes_and_reads_back_within_the_stream():
    h = _history_after(b"abcdefghij")
    assert h.s[hm.POS] == 10
    assert h.s[hm.C4] == int.from_bytes(b"ghij", "big") and h.s[hm.C8] == int.from_bytes(b"cdef", "big")
    assert hm.byte_back(h, 1) == ord("j") and hm.byte_back(h, 10) == ord("a")
    assert hm.byte_back(h, 11) == 0                          # before the stream: 0


def test_word_starts_are_the_first_bytes_of_aligned_32_bit_words():
    h = _history_after(bytes(range(0x10, 0x1E)))     # next byte: 0x1e, position 2 of 1c 1d 1e 1f
    assert [hm.word_start(h, back) for back in (1, 2, 3)] == [0x18, 0x14, 0x10]
    assert hm.word_start(h, 4) == 0


def test_words_are_case_folded_letters_and_the_previous_word_is_kept():
    a = _history_after(b"the Cat ")
    b = _history_after(b"THE cat ")
    assert a.s[hm.WORD] == 0 and a.s[hm.WORD1] == b.s[hm.WORD1] != 0
    assert _history_after(b"the ca").s[hm.WORD] != _history_after(b"the cb").s[hm.WORD]


def test_three_words_are_kept_and_the_word_contexts_read_them():
    h = _history_after(b"one two three ")
    assert [h.s[k] for k in (hm.WORD1, hm.WORD2)] == [_history_after(b"three ").s[hm.WORD1],
                                                      _history_after(b"two ").s[hm.WORD1]]
    # wskip skips the previous word: "one two X" and "one six X" share it, "ten two X" not
    wskip, word3 = CONTEXT_IDS["wskip"], CONTEXT_IDS["word3"]
    a, b, c = (_history_after(t) for t in (b"one two thr", b"one six thr", b"ten two thr"))
    assert context_hash(a, wskip, 0) == context_hash(b, wskip, 0) != context_hash(c, wskip, 0)
    assert len({context_hash(x, word3, 0) for x in (a, b, c)}) == 3


def test_the_column_and_the_byte_above_follow_the_lines():
    h = _history_after(b"first line\nabc")
    assert hm.column_above(h) == (3, ord("s"))          # the 4th byte of the line above
    assert hm.column_above(_history_after(b"ab\nabcd")) == (4, 0)   # beyond the line above
    assert hm.column_above(_history_after(b"no newline yet")) == (14, 0)
    assert hm.column_above(_history_after(b"x" * 300 + b"\n" + b"y" * 280))[0] == 255
    # the byte above is the previous line's, two lines of different lengths
    h = _history_after(b"12345\nab\nxyzw")
    assert hm.column_above(h) == (4, 0) and hm.column_above(_history_after(b"12345\nabc\nx")) == (1, ord("b"))
    col = CONTEXT_IDS["col"]
    same = _history_after(b"qq\nabcd\nab")
    assert context_hash(_history_after(b"zzzz\nabcd\nzz"), col, 0) == context_hash(same, col, 0)
    assert context_hash(_history_after(b"zzzz\nabXd\nzz"), col, 0) != context_hash(same, col, 0)


@pytest.mark.parametrize("length", [13, 64, 150])
def test_record_length_is_detected_on_a_generated_table(length):
    rng = np.random.default_rng(length)
    row = rng.integers(0, 256, length, dtype=np.uint8)
    varies = np.arange(length) % 3 == 0                   # a third of the columns change
    table = np.concatenate([np.where(varies, rng.integers(0, 256, length), row).astype(np.uint8)
                            for _ in range(60)])
    h = _history_after(table.tobytes(), detect_records=True)
    assert h.s[hm.RECORD] == length


def test_no_record_length_in_text():
    h = _history_after(b"it was the best of times, it was the worst of times; " * 3, True)
    assert h.s[hm.RECORD] == 0


def test_record_contexts_read_the_byte_above():
    rows = bytes(range(50, 70)) * 40                  # records of 20 bytes
    h = _history_after(rows, detect_records=True)
    assert h.s[hm.RECORD] == 20
    # the byte above the next one is the one 20 back; the hash changes with it
    other = _history_after(rows[:-20] + bytes(20), detect_records=True)
    assert context_hash(h, CONTEXT_IDS["rec1"], 0) != context_hash(other, CONTEXT_IDS["rec1"], 0)


def test_order_contexts_depend_on_exactly_their_bytes():
    o2 = CONTEXT_IDS["o2"]
    assert context_hash(_history_after(b"xxab"), o2, 0) == context_hash(_history_after(b"yyab"), o2, 0)
    assert context_hash(_history_after(b"xxab"), o2, 0) != context_hash(_history_after(b"xxcb"), o2, 0)
    hashes = {context_hash(_history_after(b"abcdefgh"), cid, 0) for cid in CONTEXT_IDS.values()}
    assert len(hashes) == len(CONTEXT_IDS)            # every context has its own salt


def test_character_classes_and_the_shape_of_the_text():
    assert [hm.char_class(c) for c in b"\x01 \n7aZ.("] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert hm.char_class(0xE9) == 0                   # non-ASCII: with the control bytes
    # a run of bytes of one class counts once: "Word, word." is upper lower punct space lower punct
    shape = 0
    for cls in (5, 4, 6, 1, 4, 6):
        shape = (shape << 3) | cls
    assert _history_after(b"Word, word.").s[hm.SHAPE] == shape
    assert _history_after(b"Hi, everybody.").s[hm.SHAPE] == shape
    # cls12 reads each byte's class (so word lengths), shape only the runs
    a, b = _history_after(b"Word, word"), _history_after(b"Hi, everybody")
    cls12, shape_ctx = CONTEXT_IDS["cls12"], CONTEXT_IDS["shape"]
    assert context_hash(a, shape_ctx, 0) == context_hash(b, shape_ctx, 0)
    assert context_hash(a, cls12, 0) != context_hash(b, cls12, 0)
    assert context_hash(a, cls12, 0) == context_hash(_history_after(b"Abcd, efgh"), cls12, 0)


def test_the_brackets_open_are_kept_innermost_lowest():
    assert _history_after(b"f(a[i], {").s[hm.NEST] == (1 << 2) | 3      # [ closed: ( then {
    assert _history_after(b"f(a[i], {x})").s[hm.NEST] == 0
    assert _history_after(b"x) ] }").s[hm.NEST] == 0                  # nothing open: stays 0
    nests = CONTEXT_IDS["nests"]
    a = context_hash(_history_after(b"f(ab"), nests, 0)
    assert a == context_hash(_history_after(b"g(cd"), nests, 0)
    assert a != context_hash(_history_after(b"f[ab"), nests, 0)


def test_the_word_that_followed_a_word_last_names_the_word_to_come():
    h = _history_after(b"in the house, the cat; in the ")
    word = {w: _history_after(w + b" ").s[hm.WORD1] for w in (b"in", b"the", b"cat")}
    assert h.next_word[word[b"the"] & 0xFFFF] == word[b"cat"]
    assert h.next_word[word[b"in"] & 0xFFFF] == word[b"the"]
    # "wnext" after "the": the same where "the" was last followed by the same word
    wnext = CONTEXT_IDS["wnext"]
    a, b = _history_after(b"the cat. the ca"), _history_after(b"a the cat, and the ca")
    assert context_hash(a, wnext, 0) == context_hash(b, wnext, 0)
    assert context_hash(a, wnext, 0) != context_hash(_history_after(b"the dog. the ca"), wnext, 0)


def test_line_and_shape_contexts_of_level_9_read_what_they_name():
    # linecol: the line's first two bytes and the column, whatever lies between
    linecol = CONTEXT_IDS["linecol"]
    a = context_hash(_history_after(b"x\n@article{abc"), linecol, 0)
    assert a == context_hash(_history_after(b"yy\n@article{xyz"), linecol, 0)
    assert a != context_hash(_history_after(b"x\n@bo"), linecol, 0)             # other column
    assert a != context_hash(_history_after(b"x\n @rticle{abc"), linecol, 0)   # other start
    # at a line's first bytes, and before any newline (the stream is one line)
    assert (context_hash(_history_after(b"a\n"), linecol, 0)
            != context_hash(_history_after(b"a\nb"), linecol, 0))
    assert (context_hash(_history_after(b"ab"), linecol, 0)
            == context_hash(_history_after(b"x\nab"), linecol, 0))
    # shapeword2: the last three runs' classes and the previous word (case-folded)
    shapeword2 = CONTEXT_IDS["shapeword2"]
    a = context_hash(_history_after(b"The cat, s"), shapeword2, 0)
    assert a == context_hash(_history_after(b"one CAT, x"), shapeword2, 0)
    assert a != context_hash(_history_after(b"The dog, s"), shapeword2, 0)
    assert a != context_hash(_history_after(b"The cat; 7"), shapeword2, 0)


def test_match_contexts_name_the_expected_byte_or_fall_back_to_the_last_bytes():
    mexp, mexpc1 = CONTEXT_IDS["mexp"], CONTEXT_IDS["mexpc1"]
    a, b = _history_after(b"xyab"), _history_after(b"zzcb")
    e, f = 256 + ord("q") + (1 << 9), 256 + ord("r") + (1 << 9)
    assert context_hash(a, mexp, e) == context_hash(b, mexp, e) != context_hash(a, mexp, f)
    assert context_hash(a, mexp, e) != context_hash(a, mexp, e + (1 << 9))   # length class
    assert context_hash(a, mexpc1, e) == context_hash(b, mexpc1, e)          # both end in b
    assert context_hash(a, mexpc1, e) != context_hash(_history_after(b"xyaa"), mexpc1, e)
    # without a match: orders 1 and 2
    assert context_hash(a, mexp, 0) == context_hash(b, mexp, 0)
    assert context_hash(a, mexpc1, 0) != context_hash(b, mexpc1, 0)
    assert context_hash(a, mexpc1, 0) == context_hash(_history_after(b"zzab"), mexpc1, 0)


def _phased(n, seed):
    """Random letters b..z, with an 'a' now and then whose follower alternates X, Y, X, Y ...
    whatever surrounds it: no order-n context predicts the follower, the followers of the last
    'a's do."""
    rng = np.random.default_rng(seed)
    out = bytearray()
    phase = 0
    while len(out) < n:
        out += bytes(rng.integers(ord("b"), ord("z") + 1, int(rng.integers(1, 6))).tolist())
        out += b"a" + (b"X" if phase == 0 else b"Y")
        phase ^= 1
    return bytes(out)


def test_indirect_history_keeps_the_followers_of_each_context():
    h = _history_after(b"aQ.aR.aS.aT.xy1xy2.")
    assert h.ind1[ord("a")] == int.from_bytes(b"ST", "big")      # the most recent lowest
    assert h.ind1[ord(".")] == int.from_bytes(b"ax", "big")
    assert h.ind2[int.from_bytes(b"xy", "big")] == int.from_bytes(b"12", "big")
    assert h.ind2[int.from_bytes(b".a", "big")] == int.from_bytes(b"ST", "big")
    # ind3: the last two followers of the last three bytes, by their hash
    h3 = _history_after(b"abcX.abcY.")
    assert h3.ind3[hm.followers_key(int.from_bytes(b"abc", "big"))] == int.from_bytes(b"XY", "big")
    assert h3.ind3[hm.followers_key(int.from_bytes(b"cY.", "big"))] == 0    # nothing followed yet
    assert h3.ind4[hm.followers_key(int.from_bytes(b".abc", "big"))] == ord("Y")
    assert h3.ind4[hm.followers_key(int.from_bytes(b"abcX", "big"))] == ord(".")
    assert not _history_after(b"aQ.aR.", track_followers=False).ind1.any()  # levels without them
    assert not _history_after(b"aQ.aR.", track_followers=False).ind3.any()


def test_indirect_contexts_name_the_follower_to_come():
    """After each 'a' of the phased stream, ind1's key is one of two: one before every X, the
    other before every Y; ind2 (the last follower of the two bytes before) does not know it."""
    data = _phased(3000, 1)
    h = hm.new_history(16)
    keys = {b"X"[0]: set(), b"Y"[0]: set()}
    for i, byte in enumerate(data):
        if i > 100 and data[i - 1] == ord("a"):
            keys[byte].add(context_hash(h, CONTEXT_IDS["ind1"], 0))
        hm.push(h, byte, False, True, True)
    assert len(keys[ord("X")]) == 1 and len(keys[ord("Y")]) == 1
    assert keys[ord("X")] != keys[ord("Y")]
    # the same followers after other bytes give the same key; another last byte another one
    ind1 = CONTEXT_IDS["ind1"]
    assert context_hash(_history_after(b"aXaY.a"), ind1, 0) == context_hash(_history_after(b"aXzzaYa"), ind1, 0)
    assert context_hash(_history_after(b"aXaY.a"), ind1, 0) != context_hash(_history_after(b"aYaX.a"), ind1, 0)
    assert context_hash(_history_after(b"bXbY.a"), ind1, 0) != context_hash(_history_after(b"aXaY.a"), ind1, 0)
    ind2 = CONTEXT_IDS["ind2"]
    assert context_hash(_history_after(b"zaX..za"), ind2, 0) == context_hash(_history_after(b"qzaXza"), ind2, 0)
    assert context_hash(_history_after(b"zaX..za"), ind2, 0) != context_hash(_history_after(b"zaY..za"), ind2, 0)


def _paired(n, seed):
    """Random letters b..z, with an 'a' now and then; the 'a's are followed by random capitals
    A..H, each twice in a row: the second of a pair is the last follower of 'a'.  (A plain
    alternation would not do: the bit histories of the order-1 context learn it.)"""
    rng = np.random.default_rng(seed)
    out = bytearray()
    follower = 0
    for i in range(n // 5):
        out += bytes(rng.integers(ord("b"), ord("z") + 1, int(rng.integers(1, 6))).tolist())
        if i % 2 == 0:
            follower = int(rng.integers(ord("A"), ord("H") + 1))
        out += bytes([ord("a"), follower])
    return bytes(out)


def test_indirect_contexts_round_trip_and_predict_the_repeated_follower(monkeypatch):
    """A level with the indirect contexts decodes what it codes, and codes the paired stream
    far smaller than the same level without them (every second follower is known)."""
    import cmzip
    from cmzip import codec, levels
    data = _paired(40000, 2)
    base = dict(levels.LEVELS[1], contexts=["o1", "o2", "o3", "o4", "o0", "o0"])
    monkeypatch.setitem(levels.LEVELS, 1, base)
    # these shapes in the loop every other shape shares (levels.UNROLLED_LEVELS): compiled once
    monkeypatch.setattr(codec, "UNROLLED_LEVELS", ())
    without = cmzip.compress(data, 1)
    monkeypatch.setitem(levels.LEVELS, 1, dict(base, contexts=["o1", "o2", "o3", "o4", "ind1", "ind2"]))
    packed = cmzip.compress(data, 1)
    assert cmzip.decompress(packed) == data
    assert len(packed) < len(without) - data.count(b"a") // 16     # half a bit per 'a' or more


def test_final_mixers_average_as_stretches_and_each_learns_on_its_own(monkeypatch):
    """Two final mixers with the same selector learn the same weights from the same errors, so
    their average is the single mixer's output, bit for bit; a second one by the previous byte
    changes the prediction, and the stream decodes."""
    from cmzip import codec, levels
    from cmzip.codec import Codec
    from cmzip.samples import sample
    data = sample("text", 20000, seed=5)
    monkeypatch.setattr(codec, "UNROLLED_LEVELS", ())      # the shared loop (as above)
    payloads = {}
    for finals in (("c0",), ("c0", "c0"), ("c0", "c1")):
        monkeypatch.setitem(levels.LEVELS, 3, dict(levels.LEVELS[3], final_mixers=list(finals)))
        payloads[finals] = Codec(3).encode_block(data)
    assert payloads[("c0", "c0")] == payloads[("c0",)]
    assert payloads[("c0", "c1")] != payloads[("c0",)]
    monkeypatch.setitem(levels.LEVELS, 3, dict(levels.LEVELS[3], final_mixers=["c0", "c1"]))
    assert Codec(3).decode_block(payloads[("c0", "c1")], len(data)) == data


def test_bucket_table_claims_finds_and_replaces_the_least_used_slot():
    _, priority, _ = state_tables()
    table = new_table(8)
    mask = (1 << 8) - 1
    h = 0xAB000004                                    # check 0xAB, line of slots 16..19
    i = find_slot(table, h, mask, priority)
    assert table[i] == 0xAB and i // SLOT in (16, 17, 18, 19)
    table[i + 1] = 40                                 # this slot has seen a lot
    assert find_slot(table, h, mask, priority) == i   # found again
    others = []
    for c in (1, 2, 3):                               # three more contexts in the same line
        j = find_slot(table, (c << 24) | 4, mask, priority)
        table[j + 1] = 1                              # each has seen a little
        others.append(j)
    assert len({i, *others}) == 4                     # every slot of the line is used
    k = find_slot(table, (4 << 24) | 4, mask, priority)   # a fifth context: the line is full
    assert k in others and table[k] == 4 and not table[k + 1:k + SLOT].any()
    assert table[i] == 0xAB                           # the well-used slot survived


def test_statemap_steps_are_one_over_n_plus_one_and_a_half():
    sm = new_statemap(1, per_state_prior=False)
    p0 = sm_p16(sm, 7)
    assert p0 == 32768
    sm_update(sm, 7, 1, 1023, STEP)                   # n = 0: p moves 2/3 of the way to 1
    assert abs(sm_p16(sm, 7) - (32768 + (65536 - 32768) * 2 / 3)) < 2
    for _ in range(2000):
        sm_update(sm, 7, 0, 1023, STEP)
    assert sm[7] & ((1 << COUNT_BITS) - 1) == 1023    # the count stops at the limit
    assert sm_p16(sm, 7) < 100


def test_state_machine_counts_both_bits_and_discounts_the_other():
    nxt, total, one_sided = state_tables()
    s = 0
    for _ in range(5):
        s = nxt[2 * s + 1]
    assert tuple(STATE_COUNTS[s]) == (0, 5)
    s = nxt[2 * s]
    n0, n1 = STATE_COUNTS[s]
    assert n0 == 1 and n1 < 5                          # the old run is discounted
    assert total[s] == n0 + n1 and (NEXT_STATE[:, 0] < 256).all()
    assert one_sided[nxt[2 * 0 + 1]] == 1 and one_sided[s] == 0 and one_sided[0] == 0


def _state_after(nxt, bits):
    s = 0
    for bit in bits:
        s = nxt[2 * s + bit]
    return s


def test_level_9_states_keep_the_last_bit_of_short_mixed_histories():
    nxt, total, one_sided = state_tables(10)
    plain = state_tables()[0]
    # "01" and "10" are one state (a 0 and a 1) without the last bit, two with it
    assert _state_after(plain, [0, 1]) == _state_after(plain, [1, 0])
    s01, s10 = _state_after(nxt, [0, 1]), _state_after(nxt, [1, 0])
    assert s01 != s10 and total[s01] == total[s10] == 2 and not one_sided[s01]
    # one-sided histories need no last bit
    assert one_sided[_state_after(nxt, [1, 1, 1])] and total[_state_after(nxt, [1, 1, 1])] == 3
    # (8, 1) ending in 0 and in 1 (the run of zeros discounted by the one): two states; (10, 1),
    # beyond 10 bits in all, one again
    assert _state_after(nxt, [1] + [0] * 8) != _state_after(nxt, [0] * 14 + [1])
    assert _state_after(nxt, [1] + [0] * 10) == _state_after(nxt, [0] * 18 + [1])
    assert total[_state_after(nxt, [1] + [0] * 10)] == 11 and (nxt < 256).all()
    with pytest.raises(ValueError):
        state_tables(12)                                # more than 256 states


def test_mixer_learns_to_trust_the_input_that_is_right():
    n = padded(3)
    w = new_weights(1, n, 0.3)
    x = np.zeros(n, dtype=np.int64)
    x[:3] = STRETCH[60000], STRETCH[6000], 256                          # one says 1, one says 0
    for _ in range(300):
        s = dot(w, 0, x, n)
        train(w, 0, x, n, (1 << 16) - SQUASH[s + SMAX], 24)               # the bit is always 1
    assert w[0, 0] > w[0, 1]
    assert (w[0, 3:] == new_weights(1, n, 0.3)[0, 3:]).all()    # the padding's weights never move
    assert SQUASH[dot(w, 0, x, n) + SMAX] > 60000


def test_mixer_int32_arithmetic_is_exact_at_its_bounds():
    """dot and train compute in int32 (mixer.py): at the largest weights, inputs, error and rate
    a level may have, over MAX_INPUTS inputs, they give what the same formulas give in Python's
    unbounded integers (an overflow would wrap and differ)."""
    from cmzip.mixer import ERROR_SHIFT, MAX_INPUTS, MAX_RATE, PRODUCT_SHIFT, WEIGHT_LIMIT
    n = MAX_INPUTS
    rng = np.random.default_rng(5)
    for sign in (1, -1, 0):
        w = np.full((2, n), sign * WEIGHT_LIMIT, dtype=np.int32)
        x = np.full(n, sign * SMAX if sign else 0, dtype=np.int32)
        if sign == 0:                                   # mixed signs and sizes
            w[1] = rng.integers(-WEIGHT_LIMIT, WEIGHT_LIMIT + 1, n)
            x[:] = rng.integers(-SMAX, SMAX + 1, n)
        for row in (0, 1):
            total = sum((int(a) * int(b)) >> PRODUCT_SHIFT for a, b in zip(w[row], x))
            want = min(max(total >> (16 - PRODUCT_SHIFT), -SMAX), SMAX)
            assert dot(w, row, x, n) == want
            for err in (65535, -65535, 1234):
                e = (err * MAX_RATE) >> ERROR_SHIFT
                steps = [(int(v) * e + (1 << (19 - ERROR_SHIFT))) >> (20 - ERROR_SHIFT) for v in x]
                want_w = [min(max(int(a) + d, -WEIGHT_LIMIT), WEIGHT_LIMIT)
                          for a, d in zip(w[row], steps)]
                train(w, row, x, n, err, MAX_RATE)
                assert w[row].tolist() == want_w
    from cmzip.mixer import check_mixer
    check_mixer(MAX_INPUTS, [MAX_RATE])
    with pytest.raises(ValueError):
        check_mixer(MAX_INPUTS + 8, [16])
    with pytest.raises(ValueError):
        check_mixer(64, [MAX_RATE + 1])


def test_a_weight_set_learns_fast_while_new_and_slows_to_the_mixer_rate():
    from cmzip.predictor import RATE_SHIFT, RATE_STEPS, _set_rates
    rates = _set_rates(dict(mixer_lr=16, rate_boost=4, rate_half=256))
    assert rates.shape == (RATE_STEPS,)
    assert rates[0] == 16 * 5                               # (1 + rate_boost) x the rate at first
    assert rates[256 >> RATE_SHIFT] == 16 + 16 * 4 // 2     # the extra part halved: rate_half steps
    assert (np.diff(rates) <= 0).all()
    assert rates[-1] == 16 + 16 * 4 * 256 // (((RATE_STEPS - 1) << RATE_SHIFT) + 256)


def test_each_weight_set_counts_its_own_training():
    """Only the weight sets that were chosen count steps; the count of each is at most the bits
    coded, and a set chosen often has learnt more steps than one chosen rarely."""
    from cmzip.codec import Codec
    data = b"abababababab" * 200 + b"1x"
    codec = Codec(1)    # one mixer, weight sets by the partial byte and the last byte's top bits
    codec.encode_block(data)
    trained = codec.model.trained
    assert trained.sum() > 0
    assert trained.max() <= 8 * len(data)

    def c0c1hi(c0, c1):                     # that mixer's weight set (predictor._selector)
        return c0 | ((c1 >> 5) << 8)

    assert trained[c0c1hi(1, ord("b"))] > trained[c0c1hi(1, ord("1"))]
    assert trained[c0c1hi(1, 0xE0)] == 0    # no byte after one of 0xE0-0xFF was coded


def test_apm_starts_as_the_identity_and_learns_its_context():
    t = new_apm(2)
    for p in (1000, 32768, 60000):
        q, _ = apm_predict(t, 1, STRETCH[p])
        assert abs(q - p) < p * 0.08 + 30           # linear between nodes 1 nat apart
    for _ in range(600):
        q, node = apm_predict(t, 1, 0)
        apm_update(t, node, 1, 7, 0)
    assert apm_predict(t, 1, 0)[0] > 60000 and abs(apm_predict(t, 0, 0)[0] - 32768) < 100


def test_apm_node_first_averages_then_learns_at_its_rate():
    """With apm_first = 8 a node's n-th step is 1/(n + 8) of the way to the bit (the count kept
    above its 22 bits, the prediction reading only those), until 2^-rate is the larger step."""
    t = new_apm(1)
    _, node = apm_predict(t, 0, 0)
    v = int(t[node])
    for n in range(56):                      # 56 + 8 = 2^6
        apm_update(t, node, 1, 6, 8)
        v += ((1 << 22) - v) // (n + 8)
        assert int(t[node]) & ((1 << 22) - 1) == v and int(t[node]) >> 22 == n + 1
    apm_update(t, node, 0, 6, 8)
    assert int(t[node]) == (v - (v >> 6)) | (56 << 22)      # now 2^-6, the count stays
    assert apm_predict(t, 0, 0)[0] > 60000                   # the count is not part of p
    # without apm_first the same node learns at 2^-6 from the start
    t = new_apm(1)
    v = int(t[node])
    apm_update(t, node, 1, 6, 0)
    assert int(t[node]) == v + (((1 << 22) - v) >> 6)


def test_statemap_probability_never_goes_below_zero():
    """A step towards 0 is rounded down: from a p of a few units it would pass 0."""
    for p22 in range(0, 9):
        for n in (0, 1, 5, 1023):
            sm = np.array([(p22 << COUNT_BITS) | n], dtype=np.int64)
            sm_update(sm, 0, 0, 1023, STEP)
            assert sm[0] >= 0 and sm_p16(sm, 0) == 0


def _image_after(data, width, wide_bits=None):
    """The bit-image model after the History took data, with rows of `width` bytes."""
    from cmzip.models import image as im_mod
    h = hm.new_history(16)
    im = im_mod.new_image(im_mod.MAX_CONTEXTS, wide_bits or im_mod.WIDE_BITS)
    h.s[hm.RECORD] = width
    im_mod.start_byte(im, h)
    for byte in data:
        hm.push(h, byte, False, False, False)
        h.s[hm.RECORD] = width
        im_mod.start_byte(im, h)
    return im, h


@pytest.mark.parametrize("bitpos", range(8))
def test_image_contexts_read_the_pixels_above_and_left(bitpos):
    from cmzip.models import image as im_mod
    width, column = 20, 7
    c0 = 1 << bitpos                            # the pixels of this byte so far: all white
    rows = bytearray(3 * width + column)        # three blank rows, then 7 bytes of this one
    rows[2 * width + column] = 0x80 >> bitpos   # the pixel straight above this one
    im, h = _image_after(bytes(rows), width)
    assert im_mod.active(im)
    im_mod.contexts(im, h, c0, bitpos, im_mod.MAX_CONTEXTS)
    # JBIG's template: four left, seven above (this one in bit 3), five two rows up
    assert im.at[0] == 8 << 5
    assert im.at[6] == (6 << im_mod.CONTEXT_BITS) | (8 << 7)
    # the pixel above and to the left: in the byte before the one above where bitpos is 0
    rows[2 * width + column] = 0
    rows[2 * width + column - (bitpos == 0)] = (0x80 >> bitpos) << 1 if bitpos else 1
    im, h = _image_after(bytes(rows), width)
    im_mod.contexts(im, h, c0, bitpos, im_mod.MAX_CONTEXTS)
    assert im.at[0] == 16 << 5
    # the pixel left of this one: the last bit of the previous byte where bitpos is 0
    rows[2 * width + column - (bitpos == 0)] = 0
    im, h = _image_after(bytes(rows[:-1]) + (b"\x01" if bitpos == 0 else b"\x00"), width)
    im_mod.contexts(im, h, c0 | (bitpos > 0), bitpos, im_mod.MAX_CONTEXTS)
    assert im.at[0] == 1 << 12
    # every entry stays within its context's map, whatever the pixels
    # (the wide contexts' maps at their largest and smallest)
    rng = np.random.default_rng(bitpos)
    for wide in (im_mod.WIDE_BITS, im_mod.CONTEXT_BITS):
        last = im_mod.MAX_CONTEXTS - 1
        assert im_mod.new_image(last + 1, wide).sm.shape[0] == (
            im_mod.map_start(last, wide) + im_mod.map_size(last, wide))
        for _ in range(20):
            page = rng.integers(0, 256, 4 * width).astype(np.uint8).tobytes()
            im, h = _image_after(page, width, wide)
            im_mod.contexts(im, h, c0 | int(rng.integers(0, c0)), bitpos, im_mod.MAX_CONTEXTS)
            assert all(im_mod.map_start(i, wide) <= im.at[i]
                       < im_mod.map_start(i, wide) + im_mod.map_size(i, wide)
                       for i in range(im_mod.MAX_CONTEXTS))


@pytest.mark.parametrize("bitpos", [0, 3, 7])
def test_wide_image_contexts_see_pixels_the_templates_do_not(bitpos):
    """Two pages alike around this pixel but for one pixel six columns right of it in the row
    above (a different glyph's stroke): every 16-pixel template reads the same context, the wide
    ones (17 pixels of each row above) tell them apart; the same pixels give the same entry."""
    from cmzip.models import image as im_mod
    width, column = 20, 7
    c0 = 1 << bitpos
    rows = bytearray(3 * width + column)
    rows[2 * width + column] = 0x80 >> bitpos           # the pixel straight above this one
    pixel = 8 * column + bitpos + 6                     # six columns right, in the row above
    other = bytearray(rows)
    other[2 * width + pixel // 8] |= 0x80 >> (pixel % 8)
    seen = []
    for page in (rows, rows, other):
        im, h = _image_after(bytes(page), width)
        im_mod.contexts(im, h, c0, bitpos, im_mod.MAX_CONTEXTS)
        seen.append(im.at.copy())
    assert (seen[0] == seen[1]).all()
    assert (seen[0][:im_mod.N_SMALL] == seen[2][:im_mod.N_SMALL]).all()
    assert seen[0][8] != seen[2][8] and seen[0][9] != seen[2][9]


def test_wide_image_maps_are_no_bigger_than_the_input_can_fill():
    from cmzip.levels import LEVELS
    from cmzip.models import image as im_mod
    from cmzip.predictor import new_model
    for n, bits in ((1000, im_mod.CONTEXT_BITS), (100_000, 20), (513_216, 22), (4 << 20, 22)):
        image = new_model(LEVELS[5], n).image
        assert image.s[im_mod.WIDE] == bits       # 2^bits >= 8 n, within the limits
        assert image.sm.shape[0] == im_mod.map_start(im_mod.MAX_CONTEXTS, bits)


def test_image_model_is_off_without_rows_and_on_text():
    from cmzip.models import image as im_mod
    from cmzip.samples import sample
    im, h = _image_after(bytes(100), 0)
    assert not im_mod.active(im) and im.s[im_mod.NEIGHBOURS] == 0
    # text whose lines make a record length: off
    im, h = _image_after(sample("text", 3000), 53)
    assert not im_mod.active(im) and im.s[im_mod.NEIGHBOURS] == 0
    # a bitmap after text: on once the last few hundred bytes are mostly not text
    im, h = _image_after(sample("text", 3000) + sample("bitmap", 1000), 32)
    assert im_mod.active(im)
    im_mod.contexts(im, h, 1, 0, im_mod.MAX_CONTEXTS)
    assert im.s[im_mod.NEIGHBOURS] > 0


def test_image_model_learns_rows_that_repeat_the_row_above():
    """A bitmap whose rows copy the row above, with one pixel changed: the template context
    learns to code its pixels in a small fraction of a bit each, where they are random along a
    row (a bit each, for a model of the row alone)."""
    from cmzip.models import image as im_mod
    width, n_rows = 16, 96
    rng = np.random.default_rng(5)
    rows = [rng.integers(0, 256, width, dtype=np.uint8)]
    for _ in range(n_rows - 1):
        row = rows[-1].copy()
        row[rng.integers(0, width)] ^= np.uint8(1 << int(rng.integers(0, 8)))
        rows.append(row)
    h = hm.new_history(16)
    h.s[hm.RECORD] = width
    im = im_mod.new_image(1)
    cost = np.zeros(n_rows)
    for at, byte in enumerate(np.concatenate(rows).tolist()):
        im_mod.start_byte(im, h)
        c0 = 1
        for bitpos in range(8):
            bit = (byte >> (7 - bitpos)) & 1
            if im_mod.active(im):
                im_mod.contexts(im, h, c0, bitpos, 1)
                p1 = max(1, min(65535, im_mod.p16(im, 0))) / 65536
                cost[at // width] -= np.log2(p1 if bit else 1 - p1)
                im_mod.update_bit(im, bit, 1, STEP)
            c0 = (c0 << 1) | bit
        hm.push(h, byte, False, False, False)
        h.s[hm.RECORD] = width
    per_pixel = cost / (8 * width)
    assert per_pixel[:3].mean() > 0.8                   # no rows above yet: a bit a pixel
    assert per_pixel[-32:].mean() < 0.2                 # (a changed pixel in 128: >= 0.08)


def test_bit_image_model_codes_a_bitmap_smaller(monkeypatch):
    """A level with the bit-image model codes a generated bitmap far smaller than the same level
    without it (the model turns on record detection, which gives it the row width), and
    decodes what it codes."""
    from cmzip import codec, levels
    from cmzip.codec import Codec
    from cmzip.samples import sample
    data = sample("bitmap", 20000)
    base = dict(levels.LEVELS[1], contexts=["o1", "o2", "o3", "o4", "o0", "o0"])
    monkeypatch.setitem(levels.LEVELS, 1, base)
    monkeypatch.setattr(codec, "UNROLLED_LEVELS", ())      # (as the indirect-context test's)
    without = len(Codec(1).encode_block(data))
    monkeypatch.setitem(levels.LEVELS, 1, dict(base, image=8))
    payload = Codec(1).encode_block(data)
    assert Codec(1).decode_block(payload, len(data)) == data
    assert len(payload) < 0.7 * without            # measured: 2087 -> 1082 bytes


def _matches_after(data, min_len):
    """A match model of min_len that has seen data (pushed through a History): its state."""
    from cmzip.models import match as match_mod
    h = hm.new_history(16)
    m = match_mod.new_match(12, min_len)
    for byte in data:
        hm.push(h, byte, False, False, False)
        match_mod.update_byte(m, h)
    return m.s[match_mod.LEN], m.s[match_mod.PREDICTED] - 256


def test_the_long_match_model_takes_only_long_repeats():
    """The second match model (levels 5-9) follows a repeat of 16 bytes or more, found by a hash
    of all of them; a 10-byte repeat, which the 6-byte model follows, it leaves alone."""
    rng = np.random.default_rng(3)
    noise = lambda n: bytes(rng.integers(0, 256, n, dtype=np.uint8))
    short, long = noise(10), noise(40)
    data = noise(200) + short + b"k" + noise(200) + short
    assert _matches_after(data, 6) == (10, ord("k"))
    assert _matches_after(data, 16)[0] == 0
    data = noise(200) + long + b"A" + noise(200) + long
    length, predicted = _matches_after(data, 16)
    assert length >= 16 and predicted == ord("A")


@numba.njit
def _code_then_predict(m, data, apm_contexts):
    """Codes data through the model (no coder), noting each byte's order-3 APM context for its
    first bit, then predicts the first bit of the next byte."""
    for i in range(data.shape[0]):
        apm_contexts[i] = _apm_context(m, 3, 1)
        c0 = 1
        for bitpos in range(8):
            predict_bit(m, c0, bitpos)
            bit = (data[i] >> (7 - bitpos)) & 1
            update_bit(m, bit)
            c0 = (c0 << 1) | bit
        update_byte(m, c0 - 256)
    return predict_bit(m, 1, 0)


def test_linear_inputs_and_the_order_3_apm():
    """With linear inputs (levels 6-9) each context's third input is its probability less a half
    on a linear scale, 0 where the context is new, after its stretch and its deterministic input;
    the order-3 APM's rows stay within its table and follow the last three bytes."""
    from cmzip import levels
    from cmzip.predictor import APMS, LINEAR_SHIFT, new_model
    from cmzip.samples import sample
    config = dict(levels.LEVELS[1], linear_inputs=True, apms=["c3"])
    m = new_model(config, 4000, unrolled=False)
    n = m.cfg.ctx_count
    assert (m.cfg.linear_at, m.cfg.match_at) == (2 * n, 3 * n)
    data = np.frombuffer(sample("text", 3000) + bytes(range(256)) * 2, dtype=np.uint8)
    rows = np.zeros(len(data), dtype=np.int64)
    _code_then_predict(m, data, rows)
    linear = m.x[m.cfg.linear_at:m.cfg.linear_at + n]
    for i in range(n):
        state = m.table[m.ctx_at[i]]
        p = sm_p16(m.sm, m.sm_at[i])
        assert m.x[i] == STRETCH[p]
        assert linear[i] == ((p - 32768) >> LINEAR_SHIFT if state else 0)
    assert (np.abs(linear) <= 32768 >> LINEAR_SHIFT).all() and linear.any()
    assert rows.min() >= 0 and rows.max() < APMS["c3"][1]
    # the same last three bytes, the same row; different ones nearly always a different row
    # (rows are a 16-bit hash of them)
    last3 = [bytes(data[i - 3:i]) for i in range(3, len(data))]
    same = {}
    for context, row in zip(last3, rows[3:]):
        assert same.setdefault(context, row) == row
    assert len(set(same.values())) > 0.9 * len(same)
