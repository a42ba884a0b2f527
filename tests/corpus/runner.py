"""Runs atio for differential.py and measures its peak memory (stdlib only, kept small).

Why a separate process: Linux records in a child's ru_maxrss the peak RSS of the memory image
it replaced at exec. A child started straight from differential.py (which holds pyarrow tables)
would report the harness's own peak. Started from this small process, it reports ~its own.

Protocol: one JSON request per stdin line, {"argv": [...], "timeout": seconds}; one JSON reply
per stdout line, {"code", "stderr", "rss", "seconds", "timed_out"} (code: exit status, or minus
the signal number).
"""

import json
import os
import subprocess
import sys
import tempfile
import time


def run(argv, timeout):
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                timed_out = True
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return {"code": proc.returncode, "stderr": stderr, "rss": usage.ru_maxrss * 1024,
            "seconds": time.monotonic() - start, "timed_out": timed_out}


def main():
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(run(request["argv"], request["timeout"])), flush=True)


if __name__ == "__main__":
    main()
