"""Predictor sets end to end: chosen at compression (API or CLI), stored in the header, honoured
by decompression without any option, and reported by `info` and `-v`."""
import io

import pytest
from click.testing import CliRunner

import cmzip
from cmzip.cli import cli
from cmzip.container import read_info
from cmzip.levels import CUSTOM_SET, predictor_flags
from cmzip.samples import sample

DATA = sample("text", 4000, seed=21)


@pytest.mark.parametrize("predictors", [["context"], ["context", "match"],
                                        ["context", "gru"], ["context", "match", "gru", "qct"]])
def test_any_predictor_set_round_trips(predictors):
    packed = cmzip.compress(DATA, level=2, predictors=predictors)
    own_set = sorted(predictors) == ["context", "match"]          # level 2's own
    assert read_info(io.BytesIO(packed)).header.flags == (0 if own_set else predictor_flags(2, predictors))
    assert cmzip.decompress(packed) == DATA


def test_the_levels_own_set_writes_the_same_file_as_no_set():
    own = cmzip.compress(DATA, level=1, predictors=["match", "context"])
    assert own == cmzip.compress(DATA, level=1)


def test_the_predictor_set_is_part_of_the_fingerprint():
    # level 2 with a GRU: a loop the round trips above compile anyway
    packed = bytearray(cmzip.compress(DATA, level=2, predictors=["context", "gru"]))
    packed[7] = CUSTOM_SET | 0x01                   # claim another set, header CRC fixed below
    import struct
    import zlib
    packed[12:16] = struct.pack("<I", zlib.crc32(bytes(packed[:12])))
    with pytest.raises(cmzip.CmzipError, match="incompatible"):
        cmzip.decompress(bytes(packed))


def test_cli_predictors_info_and_learner_metrics(tmp_path):
    source = tmp_path / "notes.txt"
    source.write_bytes(DATA)
    runner = CliRunner()
    done = runner.invoke(cli, ["compress", "-v", "-l", "2", "--predictors", "context,gru",
                               str(source)])
    assert done.exit_code == 0, done.output
    assert "learner gru:" in done.output and "updates" in done.output
    info = runner.invoke(cli, ["info", str(source) + ".cmz"])
    assert info.exit_code == 0 and "gru" in info.output
    source.unlink()
    assert runner.invoke(cli, ["decompress", str(source) + ".cmz"]).exit_code == 0
    assert source.read_bytes() == DATA


def test_cli_rejects_an_unknown_predictor_in_one_line(tmp_path):
    source = tmp_path / "notes.txt"
    source.write_bytes(DATA)
    done = CliRunner().invoke(cli, ["compress", "--predictors", "context,lstm", str(source)])
    assert done.exit_code != 0
    assert "unknown predictor 'lstm'" in done.output and "Traceback" not in done.output
    assert not (tmp_path / "notes.txt.cmz").exists()
