"""The large text of the learners' measurements (README, "Byte learners"): 10.7 MB of English,
built from files found on a Debian 12 machine with vim-runtime 9.0 and the Canterbury corpus:
Vim 9.0's help files (/usr/share/vim/vim90/doc/*.txt, 151 files, 9,519,562 bytes, in name order)
followed by the Canterbury corpus's four public-domain books (alice29.txt, asyoulik.txt,
lcet10.txt, plrabn12.txt).

    PYTHONPATH=. python3 experiments/large_text.py OUT      # writes OUT, prints size and SHA-1
"""
import hashlib
import sys
from pathlib import Path

from cmzip.corpora import find_corpus

VIM_HELP = Path("/usr/share/vim/vim90/doc")
BOOKS = ["alice29.txt", "asyoulik.txt", "lcet10.txt", "plrabn12.txt"]


def build():
    parts = [p.read_bytes() for p in sorted(VIM_HELP.glob("*.txt"))]
    parts += [(find_corpus("canterbury") / name).read_bytes() for name in BOOKS]
    return b"".join(parts)


if __name__ == "__main__":
    data = build()
    Path(sys.argv[1]).write_bytes(data)
    print(len(data), hashlib.sha1(data).hexdigest())
