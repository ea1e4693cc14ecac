"""The classic command-line spelling of gzip, xz and zstd, translated into cmzip's subcommands.

    cmzip [-z|-d|-t|-l] [-c] [-k|--rm] [-f] [-r] [-1..-9] [-T N] [-o PATH] [-q|-v] [FILE...]

is `cmzip compress`, `decompress`, `decompress -t` or `info` with the same options (-1..-9 become
--level; in the classic form -l lists, as in gzip and xz).  With no FILE it reads standard input
and writes standard output, which is how `tar -I cmzip` runs it.  A command line whose first word
names a subcommand is that subcommand, untouched (a file called `test` is `./test` or `-- test`).
Only the translation lives here; the subcommands check and carry out everything, so both forms
behave the same.  Nothing heavy is imported: `cmzip --help` stays fast.
"""


class ClassicUsageError(Exception):
    """A classic command line that cannot be translated (exit status 2, as usage errors)."""


# Short options without a value, and what they mean.
_FLAGS = {"z": "compress", "d": "decompress", "t": "test", "l": "list", "c": "stdout",
          "k": "keep", "f": "force", "q": "quiet", "v": "verbose", "r": "recursive",
          "h": "help", "V": "version"}
_LONG_FLAGS = {"--compress": "compress", "--decompress": "decompress",
               "--uncompress": "decompress", "--test": "test", "--list": "list",
               "--stdout": "stdout", "--to-stdout": "stdout", "--keep": "keep", "--rm": "rm",
               "--force": "force", "--quiet": "quiet", "--verbose": "verbose",
               "--recursive": "recursive",
               "--help": "help", "--version": "version", "--fast": "1", "--best": "9"}
# Options with a value: the short ones, and the long ones (some only the compress command has;
# it refuses them itself when they do not apply).
_SHORT_VALUES = {"T": "--threads", "o": "--output"}
_LONG_VALUES = ("--threads", "--output", "--level", "--chunk-size", "--predictors",
                "--scheduler")
# Long compress options without a value, passed on as they are.
_LONG_PASSED = ("--verify",)
_ACTIONS = ("compress", "decompress", "test", "list")


def to_subcommand(args, commands, implied=()):
    """The argument list for the subcommand group that means what args (a command line without
    the program name) means.  commands: the subcommand names; implied: classic options that
    come first (["-d"] for uncmzip, ["-d", "-c"] for cmzcat), which also make args classic
    whatever their first word."""
    args = list(args)
    if not implied and args and (args[0] in commands or args[0] in ("-h", "--help", "-V",
                                                                      "--version")):
        return args
    return _translate(list(implied), args)


def _translate(implied, args):
    actions = []
    level = None
    settings = {"stdout": False, "keep": True, "force": False, "quiet": False, "verbose": False,
                "recursive": False}
    values = {}          # long option -> value
    passed = []          # long flags passed on
    files = []
    words = implied + args
    only_files = False
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if only_files or word == "-" or not word.startswith("-"):
            files.append(word)
        elif word == "--":
            only_files = True
        elif word.startswith("--"):
            name, has_value, value = word.partition("=")
            if name in _LONG_VALUES:
                if not has_value:
                    if i == len(words):
                        raise ClassicUsageError(f"option {name} needs a value")
                    value = words[i]
                    i += 1
                values[name] = value
            elif name in _LONG_PASSED and not has_value:
                passed.append(name)
            elif name in _LONG_FLAGS and not has_value:
                meaning = _LONG_FLAGS[name]
                if meaning.isdigit():
                    level = meaning
                else:
                    _flag(meaning, actions, settings)
            else:
                raise ClassicUsageError(f"no such option: {word}")
        else:
            cluster = word[1:]
            for position, letter in enumerate(cluster):
                if letter in _SHORT_VALUES:   # the value is the rest of the word, or the next word
                    value = cluster[position + 1:]
                    if not value:
                        if i == len(words):
                            raise ClassicUsageError(f"option -{letter} needs a value")
                        value = words[i]
                        i += 1
                    values[_SHORT_VALUES[letter]] = value
                    break
                if letter.isdigit() and letter != "0":
                    level = letter
                elif letter in _FLAGS:
                    _flag(_FLAGS[letter], actions, settings)
                else:
                    raise ClassicUsageError(f"no such option: -{letter}")
    if "help" in actions:
        return ["--help"]
    if "version" in actions:
        return ["--version"]
    if len(set(actions)) > 1:
        raise ClassicUsageError("-z, -d, -t and -l exclude one another")
    action = actions[0] if actions else "compress"
    return _subcommand(action, level, settings, values, passed, files or ["-"])


def _flag(meaning, actions, settings):
    if meaning in _ACTIONS or meaning in ("help", "version"):
        actions.append(meaning)
    elif meaning in ("keep", "rm"):
        settings["keep"] = meaning == "keep"          # the last one given counts
    else:
        settings[meaning] = True


def _subcommand(action, level, settings, values, passed, files):
    if action == "list":           # info takes files only; as gzip -l, the rest is ignored
        return ["info", "--", *files]
    command = {"compress": ["compress"], "decompress": ["decompress"],
               "test": ["decompress", "-t"]}[action]
    if action == "compress" and level is not None:
        command += ["--level", level]                 # a level is ignored otherwise, as in xz
    command += [option for option, wanted in (("--stdout", settings["stdout"]),
                                              ("--rm", not settings["keep"]),
                                              ("--force", settings["force"]),
                                              ("--quiet", settings["quiet"]),
                                              ("--verbose", settings["verbose"]),
                                              ("--recursive", settings["recursive"])) if wanted]
    for name, value in values.items():
        command += [name, value]
    return command + passed + ["--", *files]
