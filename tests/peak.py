"""The peak resident memory of a cmzip child process, measured by the child itself.

A child's ru_maxrss carries over the resident size of the process it was spawned from (here the
test run, over 2 GB once the tests have compiled every level's loop), so a child runs cmzip's
command line through CHILD and writes VmHWM, the peak of its own address space, as the last line
of its stderr; peak_bytes() reads it back.  Run it as [sys.executable, "-c", CHILD, *cmzip_args]
with the checkout importable; the child's exit status is cmzip's."""
import re

CHILD = ("import re, sys\nfrom cmzip.cli import main\ntry:\n    main(sys.argv[1:])\n"
         "finally:\n    sys.stderr.write('\\nVmHWM ' + re.search(r'VmHWM:\\s+(\\d+)',"
         " open('/proc/self/status').read()).group(1) + '\\n')\n")


def peak_bytes(stderr_text):
    """The child's peak resident memory in bytes, from its stderr."""
    return int(re.findall(r"VmHWM (\d+)", stderr_text)[-1]) * 1024
